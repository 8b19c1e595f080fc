"""The grading engine: plain Python, no Flask, no database. Responses in, scores and decisions out.
The model it implements is set out in MODEL.md.

- scoring.py:      one item's score from its key and the learner's response
- evidence.py:     which criterion an item's evidence counts for
- engine.py:       an attempt's marks, criterion decisions, status and knowledge result
- forms.py:        which items a learner's form holds, reproducibly from a seed
- unit_outcome.py: the unit outcome from the knowledge result and performance evidence
"""
