"""Python modules generated from the project's own .proto files in proto/.

Never edit them by hand: change the .proto and run `python scripts/gen_protos.py`.
"""
