"""Size limits on what a learner may send, in one place. The REST schema, the domain's
response check and the learner page all refuse beyond these with a 422 naming the item.

Why these numbers: a short-text answer is a phrase (accepted answers are a few words), so 500
characters is generous; an extended response is expected at 150-400 words, so 3,000 words and
20,000 characters leave room for the longest honest answer while bounding the stored row.
"""

MAX_SHORT_TEXT_CHARS = 500
MAX_EXTENDED_CHARS = 20_000
MAX_EXTENDED_WORDS = 3_000
# A form holds well under 50 items; a save or submit naming more keys is not a learner's.
MAX_RESPONSES_PER_REQUEST = 100
