"""One pure mapping module per input format: platform objects in, contract events out.

No file, network or database access here: the readers (``reading``) hand each module decoded
records, and whatever state a mapping needs (a reply's root, a follow being undone) is passed in.
"""
