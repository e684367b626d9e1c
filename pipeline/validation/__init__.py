"""Great Expectations checks on staged sources and published tables (docs/validation.md).

``validate.validate_source`` / ``validate.validate_outputs`` (``validate_delta`` on an
incremental night) run the suites,
``data_docs.render_data_docs`` renders a run's results, ``suites`` generates the suite
files (``python -m pipeline.validation.suites --write``). GX itself is imported lazily,
on the first validation.
"""
