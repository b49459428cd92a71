//! What the daemon writes to its log at info level: never a full phone
//! number, a name or a message body. The log of a real run, through the
//! real binary and the log provider, is searched for each of them.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::shutdown::{homeward, run};

const NAME: &str = "Siobhán";
const TYPED: &str = "07400 123456";
const E164: &str = "+447400123456";

#[tokio::test]
async fn an_info_log_holds_no_number_name_or_text() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("campaigns.toml");
    std::fs::write(&rules, "[[rule]]\nid = \"now\"\nevent = \"liberation\"\noffset_days = 0\nsend_at = \"00:00\"\ntemplate = \"gp_registration\"\nexpires_after_hours = 72\n").unwrap();
    let env = |cmd: &mut std::process::Command| {
        cmd.env("HOMEWARD__PLANNER__CAMPAIGNS_FILE", &rules)
            .env("HOMEWARD__PLANNER__SEND_WINDOW_START", "00:00")
            .env("HOMEWARD__PLANNER__SEND_WINDOW_END", "23:59");
    };
    run(&dir, &["org", "create", "Team"]);
    let (_, token, _) = run(&dir, &["token", "create", "--org", "Team"]);
    let token = token.trim().to_owned();

    let mut cmd = homeward(&dir);
    env(&mut cmd);
    let mut child = tokio::process::Command::from(cmd)
        .arg("serve")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next_line().await.unwrap().expect("the daemon starts");
        log.lock().unwrap().push_str(&line);
        if let Some(rest) = line.split("address=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let sink = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push_str(&line);
            sink.lock().unwrap().push('\n');
        }
    });

    let base = format!("http://{address}");
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let person: Value = post(
        "/v1/people",
        json!({ "external_ref": "SPS-1", "first_name": NAME, "mobile": TYPED }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = person["person"]["id"].as_str().unwrap().to_owned();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive()
        .to_string();
    post(
        &format!("/v1/people/{id}/events"),
        json!({ "event_ref": "l", "kind": "liberation", "date": today }),
    )
    .await
    .unwrap();
    post(
        "/v1/people",
        json!({ "external_ref": "SPS-2", "first_name": NAME, "mobile": "0131 226 7777" }),
    )
    .await
    .unwrap();
    post(
        "/v1/people",
        json!({ "external_ref": "SPS-3", "first_name": 12, "mobile": TYPED }),
    )
    .await
    .unwrap();

    let sent = loop {
        let body: Value = client
            .get(format!("{base}/v1/messages?state=sent"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(m) = body["messages"].as_array().and_then(|a| a.first()) {
            break m["body"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();

    let log = log.lock().unwrap().clone();
    assert!(
        log.contains("would send a text") && log.contains("+44740****456"),
        "the send was logged, masked: {log}"
    );
    for secret in [
        E164,
        "7400123456",
        TYPED,
        NAME,
        "131 226 7777",
        sent.as_str(),
        &token,
    ] {
        assert!(!log.contains(secret), "the log contains {secret:?}:\n{log}");
    }
}
