//! The `stripe-fake` binary prints its address on the first line and serves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_its_address_and_serves_async_stripe() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stripe-fake"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--api-key",
            "sk_test_cli",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
        ])
        .args(["--webhook-secret", "whsec_cli"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let client = stripe::Client::from_url(format!("{base}/").as_str(), "sk_test_cli");
    let c = stripe::Customer::create(&client, Default::default()).await;
    let wrong = stripe::Client::from_url(format!("{base}/").as_str(), "sk_test_other");
    let refused = stripe::Customer::create(&wrong, Default::default()).await;
    child.kill().unwrap();
    let _ = child.wait();
    assert!(c.unwrap().id.as_str().starts_with("cus_"));
    assert!(refused.is_err(), "only the given key is accepted");
}
