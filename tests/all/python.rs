//! The Python binding's tests (python/tests, pytest) run from `cargo test`, against the
//! library cargo just built and the test PKI generated here.
//!
//! pytest comes from a virtual environment in `target/python-venv`, which `.ci/run` makes
//! and this module makes itself when it is missing or its requirements changed
//! (`python3 -m venv`, then `pip install -r python/tests/requirements.txt`). Set
//! `EMBERTLS_PYTHON` to an interpreter that already has them to skip the venv, and
//! `EMBERTLS_PYTEST_ARGS` to pass pytest more arguments (e.g. `-k memory -x`). The venv is
//! made from `python3`, or from `$PYTHON3` when set.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{lib_dir, manifest_dir, Pki, Proc};

/// What pytest's run needs installed besides Python itself.
const REQUIREMENTS: &str = "python/tests/requirements.txt";

/// target/ (lib_dir() is target/<profile>/deps).
fn target_dir() -> PathBuf {
    lib_dir()
        .parent()
        .and_then(Path::parent)
        .expect("deps sits two levels below the target directory")
        .to_path_buf()
}

fn output(cmd: &mut Command) -> Result<Output, String> {
    cmd.output().map_err(|e| format!("cannot run {cmd:?}: {e}"))
}

fn check(cmd: &mut Command) -> Result<(), String> {
    let out = output(cmd)?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Whether `python` runs and imports pytest.
fn has_pytest(python: &Path) -> bool {
    output(Command::new(python).args(["-c", "import pytest"])).is_ok_and(|o| o.status.success())
}

/// Makes the venv at `dir` with the requirements installed; the stamp file records which.
fn make_venv(dir: &Path, requirements: &Path, wanted: &str) -> Result<(), String> {
    let base = env::var_os("PYTHON3").unwrap_or_else(|| "python3".into());
    let _ = fs::remove_dir_all(dir);
    check(Command::new(&base).arg("-m").arg("venv").arg(dir))?;
    check(
        Command::new(dir.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(requirements),
    )?;
    fs::write(dir.join("embertls-requirements.txt"), wanted)
        .map_err(|e| format!("write the venv's stamp: {e}"))
}

/// The interpreter that runs pytest: `EMBERTLS_PYTHON`, else the venv's python, making
/// the venv first when it is missing or was made for other requirements.
fn python_with_pytest() -> PathBuf {
    if let Some(python) = env::var_os("EMBERTLS_PYTHON") {
        let python = PathBuf::from(python);
        assert!(
            has_pytest(&python),
            "EMBERTLS_PYTHON={} cannot import pytest: install it there, or unset \
             EMBERTLS_PYTHON to let this test make target/python-venv",
            python.display()
        );
        return python;
    }
    let requirements = manifest_dir().join(REQUIREMENTS);
    let wanted = fs::read_to_string(&requirements)
        .unwrap_or_else(|e| panic!("read {}: {e}", requirements.display()));
    let venv = target_dir().join("python-venv");
    let python = venv.join("bin/python");
    let stamp = fs::read_to_string(venv.join("embertls-requirements.txt")).unwrap_or_default();
    if stamp == wanted && has_pytest(&python) {
        return python;
    }
    // Built beside and renamed into place, so a concurrent run never sees half a venv.
    let tmp = target_dir().join(format!("python-venv.tmp-{}", std::process::id()));
    if let Err(why) = make_venv(&tmp, &requirements, &wanted) {
        let _ = fs::remove_dir_all(&tmp);
        panic!(
            "cannot provide pytest: {why}\nThe Python tests need python3 with the venv \
             module (Debian: apt-get install python3-venv) and pip access to PyPI; or set \
             EMBERTLS_PYTHON to an interpreter with pytest, setuptools and wheel."
        );
    }
    let _ = fs::remove_dir_all(&venv);
    if fs::rename(&tmp, &venv).is_err() {
        // Another run put its venv in place first: use that one.
        let _ = fs::remove_dir_all(&tmp);
    }
    assert!(
        has_pytest(&python),
        "{} cannot import pytest",
        python.display()
    );
    python
}

/// python/tests under pytest, with the library and the PKI of this run.
#[test]
fn python_binding_pytest() {
    let python = python_with_pytest();
    let pki = Pki::shared();
    let root = manifest_dir().join("python");
    let mut cmd = Command::new(&python);
    cmd.current_dir(&root)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .args(
            env::var("EMBERTLS_PYTEST_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .env("EMBERTLS_LIBRARY", lib_dir().join("libembertls.so"))
        .env("EMBERTLS_TEST_PKI", pki.dir())
        .env("PYTHONPATH", &root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env_remove("SSLKEYLOGFILE");
    let out = Proc::spawn("pytest", cmd).finish();
    let stdout = out.stdout_text();
    println!("{stdout}{}", out.stderr);
    assert_eq!(
        out.code(),
        0,
        "pytest failed ({python:?}):\n{stdout}\n{}",
        out.stderr
    );
}

/// The binding's version (python/embertls/_lib.py, which pyproject.toml reads) is the
/// crate's: the binding refuses a library of another major version, so they move together.
#[test]
fn python_binding_version_is_the_crate_version() {
    let source = fs::read_to_string(manifest_dir().join("python/embertls/_lib.py"))
        .expect("read python/embertls/_lib.py");
    let version = source
        .lines()
        .find_map(|line| line.strip_prefix("BINDING_VERSION = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("_lib.py sets BINDING_VERSION = \"X.Y.Z\"");
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
}

/// Not run by default: copies a freshly generated test PKI to `$EMBERTLS_KEEP_PKI`, for
/// running pytest by hand (`EMBERTLS_TEST_PKI=that-dir python -m pytest python/tests`):
/// `EMBERTLS_KEEP_PKI=/tmp/pki cargo test --test all python_keep_pki -- --ignored`.
#[test]
#[ignore]
fn python_keep_pki() {
    let to = env::var_os("EMBERTLS_KEEP_PKI").expect("set EMBERTLS_KEEP_PKI to a directory");
    let pki = Pki::generate();
    let _ = fs::remove_dir_all(&to);
    check(Command::new("cp").arg("-a").arg(pki.dir()).arg(&to)).expect("copy the PKI");
}
