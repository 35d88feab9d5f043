//! The header is the contract: generated from the code, committed, complete and documented,
//! and the library exports exactly what it declares.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::{lib_dir, manifest_dir};

fn generated_header() -> String {
    std::fs::read_to_string(concat!(env!("OUT_DIR"), "/embertls.h"))
        .expect("build.rs wrote the header")
}

/// Names of the functions the header declares.
fn declared_functions(header: &str) -> BTreeSet<String> {
    header
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("typedef") && !l.starts_with('#'))
        .filter_map(|l| {
            let open = l.find('(')?;
            let name = l[..open].rsplit([' ', '*']).next()?;
            name.starts_with("ember_").then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn committed_header_equals_the_generated_one() {
    let committed = Command::new("git")
        .args(["show", ":include/embertls.h"])
        .current_dir(manifest_dir())
        .output()
        .expect("git runs");
    assert!(
        committed.status.success(),
        "include/embertls.h is not committed"
    );
    assert!(
        String::from_utf8_lossy(&committed.stdout) == generated_header(),
        "include/embertls.h differs from what cbindgen generates: build, then commit the header"
    );
}

#[test]
fn every_declared_function_is_documented() {
    let header = generated_header();
    let lines: Vec<&str> = header.lines().collect();
    let declared = declared_functions(&header);
    assert!(declared.len() > 30, "found only {declared:?}");
    for name in &declared {
        let at = lines
            .iter()
            .position(|l| !l.starts_with(' ') && l.contains(&format!("{name}(")))
            .expect("declared");
        assert_eq!(
            lines[at - 1].trim(),
            "*/",
            "{name} has no comment right above it"
        );
        let comment_start = lines[..at]
            .iter()
            .rposition(|l| l.trim() == "/**")
            .expect("opened");
        let words = lines[comment_start..at]
            .join(" ")
            .split_whitespace()
            .count();
        assert!(
            words >= 15,
            "{name}'s comment is too thin to say results and ownership"
        );
    }
}

#[test]
fn the_library_exports_exactly_the_declared_functions() {
    let nm = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(lib_dir().join("libembertls.so"))
        .output()
        .expect("nm runs");
    assert!(nm.status.success());
    let exported: BTreeSet<String> = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(|s| s.split('@').next().unwrap_or(s).to_owned())
        .collect();
    assert_eq!(exported, declared_functions(&generated_header()));
}

#[test]
fn the_design_core_api_is_declared() {
    let declared = declared_functions(&generated_header());
    for name in [
        "ember_version",
        "ember_result_str",
        "ember_config_new",
        "ember_config_free",
        "ember_config_set_versions",
        "ember_config_set_trust",
        "ember_config_add_cert_pem_file",
        "ember_config_add_cert_pem",
        "ember_trust_new",
        "ember_trust_free",
        "ember_trust_add_pem",
        "ember_trust_add_pem_file",
        "ember_conn_new",
        "ember_conn_free",
        "ember_conn_set_io",
        "ember_conn_set_fd",
        "ember_conn_feed",
        "ember_conn_drain",
        "ember_conn_pending_output",
        "ember_conn_handshake",
        "ember_conn_read",
        "ember_conn_write",
        "ember_conn_flush",
        "ember_conn_close",
        "ember_conn_last_error",
    ] {
        assert!(declared.contains(name), "{name} is missing from the header");
    }
}

#[test]
fn version_macros_match_the_crate_version() {
    let header = generated_header();
    for (macro_name, value) in [
        ("EMBER_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("EMBER_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("EMBER_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(
            header.contains(&format!("#define {macro_name} {value}\n")),
            "{macro_name} is not {value}"
        );
    }
    assert!(header.contains(&format!(
        "#define EMBER_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION")
    )));
}

#[test]
fn the_readme_c_examples_compile_warning_free() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md");
    let blocks: Vec<&str> = readme
        .split("```c\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect();
    assert!(blocks.len() >= 2, "README.md has C examples");
    for (index, code) in blocks.iter().enumerate() {
        let source = crate::support::c_build_dir().join(format!("readme_example_{index}.c"));
        std::fs::write(&source, code).expect("write the example");
        let out = Command::new("cc")
            .args([
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-fsyntax-only",
                "-I",
            ])
            .arg(crate::support::include_dir())
            .arg(&source)
            .output()
            .expect("cc runs");
        assert!(
            out.status.success(),
            "the README's C example #{} does not compile:\n{}\n{code}",
            index + 1,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_name_in_the_header_has_the_prefix() {
    let header = generated_header();
    let mut unprefixed = Vec::new();
    for line in header.lines().map(str::trim) {
        let name = if let Some(rest) = line.strip_prefix("#define ") {
            rest.split([' ', '(']).next()
        } else if let Some(rest) = line.strip_prefix("} ") {
            rest.strip_suffix(';')
        } else if let Some(rest) = line.strip_prefix("typedef ") {
            // "typedef struct ember_x ember_x;" and function-pointer typedefs "(*ember_cb)(".
            rest.split(['(', ')', '*', ' ', ';'])
                .rfind(|word| word.starts_with("ember_") || word.ends_with("_cb"))
                .or_else(|| rest.strip_suffix(';').and_then(|r| r.rsplit(' ').next()))
        } else {
            line.strip_suffix(',')
                .and_then(|l| l.split_once(" = "))
                .map(|(name, _)| name)
        };
        if let Some(name) = name {
            if !name.starts_with("ember_") && !name.starts_with("EMBER") {
                unprefixed.push(name.to_owned());
            }
        }
    }
    assert!(
        unprefixed.is_empty(),
        "names in embertls.h without the ember_/EMBER_ prefix: {unprefixed:?}"
    );
}

#[test]
fn the_readme_cpp_example_compiles_warning_free() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md");
    let code = readme
        .split("```cpp\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README.md has a C++ example");
    // The example is a function body using a connected socket `sock`.
    let source = crate::support::c_build_dir().join("readme_example.cpp");
    std::fs::write(
        &source,
        format!(
            "#include <array>\n#include <iostream>\n#include \"embertls.hpp\"\n\n\
             void readme_example(int sock) {{\n{code}}}\n"
        ),
    )
    .expect("write the example");
    let out = Command::new("c++")
        .args([
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
            "-I",
        ])
        .arg(crate::support::include_dir())
        .arg(&source)
        .output()
        .expect("c++ runs");
    assert!(
        out.status.success(),
        "the README's C++ example does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
