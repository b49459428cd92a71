//! Starting the real `homeward` binary as a daemon, for the tests that
//! crash, restart or signal it.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

/// Run `homeward serve` with `cmd`'s settings; the child and the address it
/// listens on (`127.0.0.1:PORT`), read from its log. The log is drained
/// from then on, so the daemon never blocks on a full pipe.
pub async fn serve(cmd: std::process::Command) -> (tokio::process::Child, String) {
    let mut cmd = tokio::process::Command::from(cmd);
    let mut child = cmd
        .arg("serve")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("serve logged its address before exiting");
        if let Some(rest) = line.split("address=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, address)
}

/// A releases CSV of `people` people, each with their own valid mobile,
/// released today in Europe/London.
pub fn released_today(people: usize) -> String {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    let mut csv = String::from("external_ref,first_name,mobile,release_date\n");
    for i in 0..people {
        csv.push_str(&format!("SPS-{i},Alex,07400 {:06},{today}\n", 100_000 + i));
    }
    csv
}
