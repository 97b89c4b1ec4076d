from setuptools import find_packages, setup

setup(
    name="tap-pendo",
    version="0.2.0",
    description="Singer tap for Pendo: accounts, visitors, features, pages, guides, "
    "track types, their events, visitor history, metadata schemas, guide steps, polls, "
    "segments and reports",
    author="tap-pendo developers",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=find_packages(include=["tap_pendo", "tap_pendo.*"]),
    package_data={"tap_pendo": ["schemas/*.json"]},
    # No `backoff`: retries honour Retry-After with a pause shared by every
    # worker, and a cut-off page resumes after its last row; one small loop in
    # client.py does all three, where the decorator would do the first part only.
    install_requires=[
        "singer-python>=6,<7",
        "requests>=2.28,<3",
        # yajl2_c backend: results.item is parsed as a stream, in C.
        "ijson>=3.2,<4",
        # orjson writes RECORD lines ~8x faster than json.dumps; it is the
        # single largest cost on the hot path otherwise (see bench/README).
        "orjson>=3.8,<4",
    ],
    extras_require={
        "test": ["pytest>=7", "requests-mock>=1.11", "ruff>=0.5"],
    },
    entry_points={"console_scripts": ["tap-pendo=tap_pendo:main"]},
)
