"""The simweb tests share the package's fixtures (none hold module state: the target reaches every plugin through
the host option ``target_spec``)."""
