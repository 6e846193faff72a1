"""Generated from proto/consortia/v1 by scripts/gen_protos.py; do not edit."""
