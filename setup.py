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
        # Data Sync: Avro files streamed block by block (C extension), from any store
        # that fsspec opens; cramjam is fastavro's snappy codec.
        "fastavro>=1.9,<2",
        "fsspec>=2024.2",
        "cramjam>=2.7,<3",
    ],
    extras_require={
        # The stores of Data Sync, each with fsspec's own maintained backend.
        "s3": ["s3fs>=2024.2"],
        "gcs": ["gcsfs>=2024.2"],
        "azure": ["adlfs>=2024.2"],
        "test": [
            "pytest>=7",
            "requests-mock>=1.11",
            "pytest-xdist>=3.5",
            "pytest-timeout>=2.2",
            "ruff>=0.5",
            # A real S3 endpoint on loopback for the Data Sync tests, read through s3fs:
            # moto's server for S3 alone. moto[server] would pull in cfn-lint's jsonschema 4,
            # which singer-python 6 refuses (it pins jsonschema 2.6).
            "moto[s3]>=5,<6",
            "flask>=2",
            "flask-cors>=3",
            "s3fs>=2024.2",
        ],
    },
    entry_points={"console_scripts": ["tap-pendo=tap_pendo:main"]},
)
