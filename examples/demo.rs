//! `cargo run --example demo`: embertls end to end in one command.
//!
//! Generates a CA and a certificate for localhost, compiles the C examples
//! (examples-c/client.c and server.c) against the libembertls.so cargo just built, starts
//! the echo server on a port the OS picks, sends one line through the client (which trusts
//! only the generated CA) and prints what the client reports and what came back.
//!
//! Needs cargo and a C compiler, nothing else.

// The test helpers, shared so the demo and the tests cannot drift apart. The demo uses
// only some of them.
#[allow(dead_code)]
#[path = "../tests/all/support.rs"]
mod support;

use std::process::ExitCode;

use support::{example_client, example_server, lib_dir, run_client, EmberServer, Pki, ServerKind};

fn main() -> ExitCode {
    // Removed again when `pki` is dropped at the end of main.
    let pki = Pki::generate_basic();
    println!(
        "generated a CA and a certificate for localhost in {}",
        pki.dir().display()
    );

    example_client();
    example_server();
    println!(
        "compiled examples-c/client.c and examples-c/server.c against {}",
        lib_dir().join("libembertls.so").display()
    );

    // --max-conns 1: the server exits by itself after the client's connection.
    let server = EmberServer::start(
        ServerKind::Threaded,
        &pki.path("ecdsa-p256.pem"),
        &pki.path("ecdsa-p256.key"),
        &[],
        1,
    );
    println!("server listening on {}", server.addr());

    let line = "hello through embertls\n";
    let ca = pki.arg("ca.pem");
    let args = [
        "--connect",
        &server.addr(),
        "--servername",
        "localhost",
        "--ca",
        &ca,
    ];
    println!("client {} <<< {line:?}", args.join(" "));
    let client = run_client(&args, line.as_bytes());
    let served = server.finish();

    print!("client: {}", client.stderr);
    print!("server: {}", served.stderr);
    println!("echoed: {:?}", client.stdout_text());

    if client.status.success() && served.status.success() && client.stdout == line.as_bytes() {
        println!("demo ok");
        ExitCode::SUCCESS
    } else {
        println!(
            "demo failed: client {}, server {}",
            client.status, served.status
        );
        ExitCode::FAILURE
    }
}
