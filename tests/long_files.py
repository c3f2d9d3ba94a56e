"""The order in which pytest-xdist starts the test files (tests/conftest.py sorts by it)."""

# Test files that take half a minute or more, the longest first, except that the first four
# go out together: pytest-xdist (--dist loadfile) hands out whole files in collection order, one
# to each worker and then a second one each, and the first file makes the shared reference run
# (reference_run.py) that the other crash-safety files and several more start from. So the
# three beside it are long files that do not wait for that run. Starting the long files first
# keeps the run from ending with one worker on a long file while the others have nothing to do.
LONG_FILES = [
    "test_crash_safety.py",
    "test_examples.py",
    "test_bad_input_pipeline.py",
    "test_spark_engine.py",
    "test_crash_safety_damaged.py",
    "test_crash_safety_dvc_killed.py",
    "test_properties.py",
    "test_quarters.py",
    "test_run_copies.py",
    "test_experiments.py",
    "test_import_db.py",
    "test_original_data.py",
    "test_pipeline.py",
    "test_security.py",
    "test_migration_cli.py",
    "test_original_parity.py",
    "test_dashboard.py",
    "test_cli.py",
    "test_io_trust.py",
    "test_publish.py",
    "test_dashboard_browser.py",
    "test_plots_offline.py",
]
