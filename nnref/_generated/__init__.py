"""Generated engine modules (see derivations/codegen/)."""
