"""The release workflow (.github/workflows/release.yml) stays valid: it parses, every job has a
runner and steps, each step runs one action or command, every platform the README promises gets a
wheel from maturin's action, the sdist is built, and publishing happens only on a version tag,
after every build, with trusted publishing (no token)."""

from __future__ import annotations

from pathlib import Path

import yaml  # a test dependency

WORKFLOW = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "release.yml"


def load():
    doc = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def test_the_workflow_is_well_formed():
    doc = load()
    assert doc["name"] and set(doc["on"]) >= {"push", "pull_request"}
    assert doc["on"]["push"]["tags"] == ["v*"]
    for name, job in doc["jobs"].items():
        assert "runs-on" in job, name
        assert job["steps"], name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (name, step)
            if "uses" in step:
                action, _, ref = step["uses"].partition("@")
                assert action.count("/") >= 1 and ref, step["uses"]
        for need in job.get("needs", []):
            assert need in doc["jobs"], (name, need)


def _maturin(job):
    return [s for s in job["steps"] if s.get("uses", "").startswith("PyO3/maturin-action@")]


def test_every_platform_gets_a_wheel_and_the_sdist_is_built():
    jobs = load()["jobs"]
    linux = jobs["linux"]["strategy"]["matrix"]
    assert set(linux["target"]) == {"x86_64", "aarch64"}
    assert set(linux["manylinux"]) == {"auto", "musllinux_1_2"}
    macs = {m["target"] for m in jobs["macos"]["strategy"]["matrix"]["include"]}
    assert macs == {"x86_64", "aarch64"}
    assert _maturin(jobs["windows"])[0]["with"]["target"] == "x64"
    for name in ("linux", "macos", "windows"):
        (step,) = _maturin(jobs[name])
        assert "--release" in step["with"]["args"] and "--out dist" in step["with"]["args"]
    assert _maturin(jobs["sdist"])[0]["with"]["command"] == "sdist"


def test_the_x86_64_glibc_wheel_is_built_from_its_profile():
    """The linux matrix leaves x86_64 glibc to linux-pgo, which builds an instrumented wheel, runs
    the training, merges the counts and builds the wheel from them, then tests it."""
    jobs = load()["jobs"]
    assert {"target": "x86_64", "manylinux": "auto"} in jobs["linux"]["strategy"]["matrix"]["exclude"]
    steps = jobs["linux-pgo"]["steps"]
    inst, final = _maturin(jobs["linux-pgo"])
    for step in (inst, final):
        assert step["with"]["target"] == "x86_64" and step["with"]["manylinux"] == "auto"
    assert "-Cprofile-generate=" in inst["env"]["RUSTFLAGS"]
    assert "-Cprofile-use=" in final["env"]["RUSTFLAGS"] and "--out dist" in final["with"]["args"]
    runs = [s["run"] for s in steps if "run" in s]
    order = [
        next(k for k, r in enumerate(runs) if needle in r)
        for needle in ("llvm-tools", "benches/pgo_train.py", "llvm-profdata", "pytest")
    ]
    assert order == sorted(order)
    assert steps.index(inst) < steps.index(next(s for s in steps if "pgo_train" in s.get("run", "")))
    assert steps.index(final) > steps.index(next(s for s in steps if "merge" in s.get("run", "")))
    assert (Path(__file__).resolve().parent.parent / "benches" / "pgo_train.py").is_file()


def test_publishing_only_on_a_tag_after_every_build_without_a_token():
    jobs = load()["jobs"]
    pub = jobs["publish"]
    assert pub["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert set(pub["needs"]) == {"linux", "linux-pgo", "macos", "windows", "sdist"}
    assert pub["permissions"] == {"id-token": "write"}
    step = [s for s in pub["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    assert step and "password" not in step[0].get("with", {})
    assert "secrets." not in WORKFLOW.read_text()  # no token: PyPI's trusted publishing
