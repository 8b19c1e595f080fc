"""The grading engine: plain Python, no Flask, no database. Responses in, scores and decisions out.

- scoring.py: one item's score from its key and the learner's response
- engine.py:  an attempt's score, criterion decisions, status and grade
- forms.py:   which items a learner's form holds, reproducibly from a seed
"""
