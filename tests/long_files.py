"""The order in which pytest-xdist starts the test files (tests/conftest.py sorts by it)."""

# Test files that take a minute or more, the longest first. pytest-xdist (--dist loadfile)
# hands out whole files in collection order: starting these first keeps the run from ending
# with one worker on a long file while the other has nothing left to do.
LONG_FILES = [
    "test_spark_engine.py",
    "test_crash_safety.py",
    "test_crash_safety_damaged.py",
    "test_crash_safety_dvc_killed.py",
    "test_examples.py",
    "test_quarters.py",
    "test_bad_input_pipeline.py",
    "test_import_db.py",
    "test_experiments.py",
    "test_properties.py",
    "test_run_copies.py",
    "test_pipeline.py",
    "test_original_parity.py",
    "test_original_data.py",
    "test_plots_offline.py",
    "test_security.py",
    "test_publish.py",
    "test_migration_cli.py",
]
