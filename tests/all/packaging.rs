//! The library as users get it: `make install` into a temporary prefix, then programs built
//! against what it installed the three ways users build them (pkg-config, CMake's
//! `find_package`, a static link) and run against our example server; `make uninstall`;
//! and the ABI: the exported symbols against packaging/embertls.symbols, and the soname.
//!
//! The install needs a release build (`make` runs `cargo build --release`): the first test
//! that needs one makes it, once per run (minutes from scratch, a second when fresh), and
//! every `make` is serialized so two never race on target/release.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, Weak};

use crate::support::{
    assert_client_ok, assert_server_ok, client_args, committed_symbols, lib_dir, lock,
    manifest_dir, run, run_tool, EmberServer, Finished, Pki, ServerKind, TempDir,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const MAJOR: &str = env!("CARGO_PKG_VERSION_MAJOR");
const MINOR: &str = env!("CARGO_PKG_VERSION_MINOR");

/// Runs the top-level Makefile with `args` (one make at a time: they share target/release).
fn make(args: &[&str]) -> String {
    static MAKE: Mutex<()> = Mutex::new(());
    let _one_at_a_time = lock(&MAKE);
    let mut cmd = Command::new("make");
    cmd.arg("-C").arg(manifest_dir()).args(args);
    // Under `cargo test --release` the tests' own library is target/release's, and make's
    // build (with the soname) would replace it while other tests link against it: make
    // builds in a target directory of its own then.
    let profile_dir = lib_dir().parent().expect("deps has a parent").to_path_buf();
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        let target = profile_dir.parent().expect("the profile has a parent");
        cmd.env("CARGO_TARGET_DIR", target.join("packaging"));
    }
    run_tool(&mut cmd)
}

/// `make install PREFIX=<temp dir>/prefix`, shared by the tests that run at the same time
/// and removed when the last one is done (as support::Pki::shared).
struct Installed {
    root: TempDir,
}

impl Installed {
    fn shared() -> Arc<Installed> {
        static SHARED: Mutex<Weak<Installed>> = Mutex::new(Weak::new());
        let mut slot = lock(&SHARED);
        if let Some(installed) = slot.upgrade() {
            return installed;
        }
        let installed = Arc::new(Installed {
            root: TempDir::new("install"),
        });
        let prefix = installed.prefix();
        make(&["install", &format!("PREFIX={}", prefix.display())]);
        *slot = Arc::downgrade(&installed);
        installed
    }

    fn prefix(&self) -> PathBuf {
        self.root.path().join("prefix")
    }

    fn lib(&self) -> PathBuf {
        self.prefix().join("lib")
    }

    /// A directory for the programs a test builds.
    fn build_dir(&self, name: &str) -> PathBuf {
        let dir = self.root.path().join(name);
        fs::create_dir_all(&dir).expect("create a build dir");
        dir
    }

    /// `pkg-config ARGS` finding embertls.pc in the prefix, split into words.
    fn pkg_config(&self, args: &[&str]) -> Vec<String> {
        let mut cmd = Command::new("pkg-config");
        cmd.env("PKG_CONFIG_PATH", self.lib().join("pkgconfig"))
            .args(args)
            .arg("embertls");
        run_tool(&mut cmd)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

/// examples-c/client.c and common.c.
fn client_sources() -> [PathBuf; 2] {
    let dir = manifest_dir().join("examples-c");
    [dir.join("client.c"), dir.join("common.c")]
}

/// Compiles the example client with `cc -std=c11 -Wall -Wextra -Werror`, `flags` (from
/// pkg-config) and nothing of the source tree but the example's own files.
fn build_client(out: &Path, flags: &[String]) {
    let mut cc = Command::new("cc");
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(out)
        .args(client_sources())
        .args(flags);
    run_tool(&mut cc);
}

/// The libraries a program needs (readelf -d: its NEEDED entries).
fn needed(program: &Path) -> Vec<String> {
    let mut cmd = Command::new("readelf");
    cmd.arg("-d").arg(program);
    run_tool(&mut cmd)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| {
            l.split_once('[')?
                .1
                .split_once(']')
                .map(|(n, _)| n.to_owned())
        })
        .collect()
}

/// Runs a client program (the example's command line) against `server`, echoing `data`,
/// with `ld_path` as the whole LD_LIBRARY_PATH (none: the program must find the library
/// by itself, through its rpath, or have it linked in).
fn run_client_program(
    program: &Path,
    pki: &Pki,
    server: &EmberServer,
    ld_path: Option<&Path>,
) -> Finished {
    let data = format!("hello from {}\n", program.display()).into_bytes();
    let mut cmd = Command::new(program);
    cmd.args(client_args(pki, &server.addr(), &[]))
        // cargo puts target/debug/deps on the path of tests: only the installed library
        // may be found here.
        .env_remove("LD_LIBRARY_PATH");
    if let Some(dir) = ld_path {
        cmd.env("LD_LIBRARY_PATH", dir);
    }
    let out = run(&program.display().to_string(), cmd, &data);
    let summary = assert_client_ok(&out);
    assert_eq!(summary.get("version"), "TLSv1.3");
    assert_eq!(summary.get("server_name"), "localhost");
    assert!(
        out.stdout == data,
        "{}: the echo differs from what was sent",
        program.display()
    );
    out
}

fn start_server(pki: &Pki, conns: usize) -> EmberServer {
    EmberServer::start(
        ServerKind::Threaded,
        &pki.path("ecdsa-p256.pem"),
        &pki.path("ecdsa-p256.key"),
        &[],
        conns,
    )
}

fn soname() -> String {
    format!("libembertls.so.{MAJOR}")
}

// ---------------------------------------------------------------------------------------
// What install puts where
// ---------------------------------------------------------------------------------------

#[test]
fn install_lays_out_the_library_headers_and_metadata() {
    let installed = Installed::shared();
    let lib = installed.lib();
    let real = format!("libembertls.so.{VERSION}");
    assert!(lib.join(&real).is_file(), "{real} is installed");
    assert_eq!(
        fs::read_link(lib.join(soname())).expect("the soname is a link"),
        Path::new(&real)
    );
    assert_eq!(
        fs::read_link(lib.join("libembertls.so")).expect("the dev name is a link"),
        Path::new(&soname())
    );
    assert!(lib.join("libembertls.a").is_file());
    for header in ["embertls.h", "embertls.hpp"] {
        assert_eq!(
            fs::read(installed.prefix().join("include").join(header)).expect("installed"),
            fs::read(manifest_dir().join("include").join(header)).expect("in the tree"),
            "{header}"
        );
    }
    // The installed library names itself by its major version, so programs linked against
    // it load libembertls.so.MAJOR, whatever minor version is installed then.
    let mut readelf = Command::new("readelf");
    readelf.arg("-d").arg(lib.join(&real));
    let dynamic = run_tool(&mut readelf);
    assert!(
        dynamic.contains(&format!("Library soname: [{}]", soname())),
        "{dynamic}"
    );
    // The release build exports what the debug build the tests use does.
    assert_exports_the_committed_symbols(&lib.join(&real));

    // pkg-config: the version of Cargo.toml, the prefix's paths.
    assert_eq!(installed.pkg_config(&["--modversion"]), [VERSION]);
    let include = format!("-I{}", installed.prefix().join("include").display());
    assert_eq!(installed.pkg_config(&["--cflags"]), [include]);
    assert_eq!(
        installed.pkg_config(&["--libs"]),
        [format!("-L{}", lib.display()), "-lembertls".to_owned()]
    );
    let cmake = lib.join("cmake").join("embertls");
    for file in ["embertlsConfig.cmake", "embertlsConfigVersion.cmake"] {
        assert!(cmake.join(file).is_file(), "{file}");
    }
}

// ---------------------------------------------------------------------------------------
// Building against the installed library
// ---------------------------------------------------------------------------------------

#[test]
fn pkg_config_builds_the_c_client_against_the_installed_library() {
    let installed = Installed::shared();
    let pki = Pki::shared();
    let program = installed.build_dir("pkg-config").join("client");
    let mut flags = installed.pkg_config(&["--cflags"]);
    flags.extend(installed.pkg_config(&["--libs"]));
    build_client(&program, &flags);
    assert!(
        needed(&program).contains(&soname()),
        "the program records the soname: {:?}",
        needed(&program)
    );
    // As on a system where the prefix is on the loader's path (ldconfig, or here
    // LD_LIBRARY_PATH): nothing in the program points at the prefix.
    let server = start_server(&pki, 1);
    run_client_program(&program, &pki, &server, Some(&installed.lib()));
    assert_server_ok(&server.finish(), 1);
}

#[test]
fn pkg_config_static_links_the_client_with_libembertls_a() {
    let installed = Installed::shared();
    let pki = Pki::shared();
    let program = installed.build_dir("static").join("client");
    let mut flags = installed.pkg_config(&["--cflags"]);
    // `--static` adds Libs.private, what libembertls.a needs; -l:libembertls.a picks the
    // archive where -lembertls would pick the shared library.
    flags.extend(
        installed
            .pkg_config(&["--static", "--libs"])
            .into_iter()
            .map(|flag| match flag.as_str() {
                "-lembertls" => "-l:libembertls.a".to_owned(),
                _ => flag,
            }),
    );
    assert!(
        flags.iter().any(|f| f == "-lpthread"),
        "Libs.private is there: {flags:?}"
    );
    build_client(&program, &flags);
    let needed = needed(&program);
    assert!(
        !needed.iter().any(|lib| lib.starts_with("libembertls")),
        "statically linked, yet needs {needed:?}"
    );
    let server = start_server(&pki, 1);
    run_client_program(&program, &pki, &server, None);
    assert_server_ok(&server.finish(), 1);
}

#[test]
fn cmake_find_package_builds_c_cpp_and_static_programs() {
    let installed = Installed::shared();
    let pki = Pki::shared();
    let project = installed.build_dir("cmake");
    let examples = manifest_dir().join("examples-c");
    let [client, common] = client_sources();
    let cmake_lists = format!(
        r#"cmake_minimum_required(VERSION 3.16)
project(embertls_consumer C CXX)

# A newer major version than the installed one is not found...
find_package(embertls 999 QUIET)
if(embertls_FOUND)
  message(FATAL_ERROR "find_package(embertls 999) accepted ${{embertls_VERSION}}")
endif()
# ... this one is.
find_package(embertls {MAJOR}.{MINOR} REQUIRED)
message(STATUS "found embertls ${{embertls_VERSION}}")

add_compile_options(-Wall -Wextra -Werror)
add_executable(client "{client}" "{common}")
target_link_libraries(client PRIVATE embertls::embertls)
add_executable(client_static "{client}" "{common}")
target_link_libraries(client_static PRIVATE embertls::embertls_static)
add_executable(cpp_client "{cpp}")
set_target_properties(cpp_client PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
target_link_libraries(cpp_client PRIVATE embertls::embertls)
"#,
        client = client.display(),
        common = common.display(),
        cpp = examples.join("cpp_client.cpp").display(),
    );
    fs::write(project.join("CMakeLists.txt"), cmake_lists).expect("write CMakeLists.txt");
    let build = project.join("build");
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(&project)
        .arg("-B")
        .arg(&build)
        .arg(format!(
            "-DCMAKE_PREFIX_PATH={}",
            installed.prefix().display()
        ));
    let configured = run_tool(&mut configure);
    assert!(
        configured.contains(&format!("found embertls {VERSION}")),
        "{configured}"
    );
    let mut compile = Command::new("cmake");
    compile.arg("--build").arg(&build);
    run_tool(&mut compile);

    assert!(needed(&build.join("client")).contains(&soname()));
    assert!(!needed(&build.join("client_static"))
        .iter()
        .any(|lib| lib.starts_with("libembertls")));
    // No LD_LIBRARY_PATH: CMake's build rpath leads to the installed library.
    let server = start_server(&pki, 3);
    for program in ["client", "client_static", "cpp_client"] {
        run_client_program(&build.join(program), &pki, &server, None);
    }
    assert_server_ok(&server.finish(), 3);
}

// ---------------------------------------------------------------------------------------
// Uninstall
// ---------------------------------------------------------------------------------------

/// Every path under `root`, relative, directories with a trailing '/'. Links are not
/// followed.
fn tree(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("dir entry").path();
            let rel = path
                .strip_prefix(root)
                .expect("below root")
                .display()
                .to_string();
            if fs::symlink_metadata(&path).expect("lstat").is_dir() {
                out.insert(format!("{rel}/"));
                walk(root, &path, out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

#[test]
fn make_uninstall_removes_exactly_what_install_put_there() {
    let root = TempDir::new("stage");
    let stage = root.path().join("stage");
    // Someone else's file, in a directory install also uses: it and its directory stay.
    let pkgconfig = stage.join("usr/local/lib/pkgconfig");
    fs::create_dir_all(&pkgconfig).expect("create pkgconfig");
    fs::write(pkgconfig.join("other.pc"), "Name: other\n").expect("write other.pc");
    let before = tree(&stage);

    let destdir = format!("DESTDIR={}", stage.display());
    make(&["install", &destdir, "PREFIX=/usr/local"]);
    let after = tree(&stage);
    let added: BTreeSet<String> = after.difference(&before).cloned().collect();
    let expected: BTreeSet<String> = [
        "usr/local/include/",
        "usr/local/include/embertls.h",
        "usr/local/include/embertls.hpp",
        "usr/local/lib/cmake/",
        "usr/local/lib/cmake/embertls/",
        "usr/local/lib/cmake/embertls/embertlsConfig.cmake",
        "usr/local/lib/cmake/embertls/embertlsConfigVersion.cmake",
        "usr/local/lib/cmake/embertls/install_manifest.txt",
        "usr/local/lib/libembertls.a",
        "usr/local/lib/libembertls.so",
        &format!("usr/local/lib/libembertls.so.{MAJOR}"),
        &format!("usr/local/lib/libembertls.so.{VERSION}"),
        "usr/local/lib/pkgconfig/embertls.pc",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(added, expected);
    assert!(after.is_superset(&before), "install removed something");
    // Staged files name the final location, not the staging directory.
    let pc = fs::read_to_string(pkgconfig.join("embertls.pc")).expect("embertls.pc");
    assert!(pc.contains("prefix=/usr/local\n"), "{pc}");
    assert!(!pc.contains(&stage.display().to_string()), "{pc}");

    // Installing again (an upgrade) and uninstalling once leaves nothing behind.
    make(&["install", &destdir, "PREFIX=/usr/local"]);
    assert_eq!(tree(&stage), after, "a second install adds nothing");
    make(&["uninstall", &destdir, "PREFIX=/usr/local"]);
    assert_eq!(tree(&stage), before, "uninstall left or took something");
    // And once more is harmless.
    let again = make(&["uninstall", &destdir, "PREFIX=/usr/local"]);
    assert!(again.contains("nothing to uninstall"), "{again}");
    assert_eq!(tree(&stage), before);
}

#[test]
fn make_uninstall_removes_the_prefix_it_created() {
    let root = TempDir::new("prefix");
    let prefix = root.path().join("fresh");
    let arg = format!("PREFIX={}", prefix.display());
    make(&["install", &arg]);
    assert!(prefix.join("lib/libembertls.a").is_file());
    make(&["uninstall", &arg]);
    assert!(!prefix.exists(), "left behind: {:?}", tree(&prefix));
    assert!(root.path().exists(), "and nothing above it was touched");
}

// ---------------------------------------------------------------------------------------
// The ABI
// ---------------------------------------------------------------------------------------

/// The defined dynamic symbols of a shared library (nm -D --defined-only), versions cut.
fn exported_symbols(library: &Path) -> BTreeSet<String> {
    let mut nm = Command::new("nm");
    nm.args(["-D", "--defined-only"]).arg(library);
    run_tool(&mut nm)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(|s| s.split('@').next().unwrap_or(s).to_owned())
        .collect()
}

/// Checks that `library` exports exactly the committed symbols, all `ember_*`, and says
/// which differ.
fn assert_exports_the_committed_symbols(library: &Path) {
    let exported = exported_symbols(library);
    let committed = committed_symbols();
    let stray: Vec<&String> = exported
        .iter()
        .filter(|s| !s.starts_with("ember_"))
        .collect();
    assert!(
        stray.is_empty(),
        "{}: only ember_* may be exported, not {stray:?}",
        library.display()
    );
    let removed: Vec<&String> = committed.difference(&exported).collect();
    assert!(
        removed.is_empty(),
        "{}: these functions of the ABI are gone (removed or renamed): {removed:?}. \
         Programs linked against an earlier library would fail to load.",
        library.display()
    );
    let added: Vec<&String> = exported.difference(&committed).collect();
    assert!(
        added.is_empty(),
        "{}: new exports {added:?}: add them to packaging/embertls.symbols",
        library.display()
    );
}

#[test]
fn the_library_exports_exactly_the_committed_symbols() {
    assert_exports_the_committed_symbols(&lib_dir().join("libembertls.so"));
}
