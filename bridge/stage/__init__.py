"""The record stage: a file becomes judged batches (events and audit documents), resumable.

batch (the types a batch and its checkpoint are made of; what the sinks and the replay engine
depend on), judge (``judge_batches``: a file, from a checkpoint, as judged batches: framing,
decoding, C validation), publish (valid records' events and keys straight from the C event
plan, in one buffer), audits (audit documents of rejected records and of the unframed rest of
a file), records (``judge_file``: the same one Event or Rejected per record, for the CLI's
callers and tests).
"""
