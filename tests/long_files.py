"""The order in which pytest-xdist starts the test files (tests/conftest.py sorts by it)."""

# Test files that take half a minute or more, the longest first, except the second: pytest-xdist
# (--dist loadfile) hands out whole files in collection order, the first two to different
# workers, and the first crash-safety file makes the shared reference run (reference_run.py),
# so the file beside it is one that does not wait for that run. Starting the long files first
# keeps the run from ending with one worker on a long file while the other has nothing to do.
LONG_FILES = [
    "test_crash_safety.py",
    "test_spark_engine.py",
    "test_crash_safety_damaged.py",
    "test_crash_safety_dvc_killed.py",
    "test_bad_input_pipeline.py",
    "test_examples.py",
    "test_properties.py",
    "test_quarters.py",
    "test_import_db.py",
    "test_run_copies.py",
    "test_pipeline.py",
    "test_original_data.py",
    "test_original_parity.py",
    "test_migration_cli.py",
    "test_security.py",
    "test_experiments.py",
    "test_dashboard.py",
    "test_publish.py",
    "test_dashboard_browser.py",
    "test_cli.py",
    "test_plots_offline.py",
    "test_io_trust.py",
]
