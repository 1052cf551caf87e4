"""The file and pipe inputs: ``bitacora tail`` (follow files) and ``bitacora send`` (stdin).

``lines`` (pure: split, cap, join lines), ``positions`` (file identities and offsets),
``events`` (pure: lines to raw records), ``follower`` and ``send`` (the async shells).
"""
