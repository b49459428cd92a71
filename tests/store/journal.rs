//! The import journal: runs opened before an import writes, kept alive,
//! closed once, and found while still open.

use std::sync::Arc;

use homeward::domain::{Actor, ImportRunId};
use homeward::store::{ImportRun, Store};

use crate::fixtures::{mins, org, t0};

pub async fn an_import_run_stays_open_until_closed_once_and_only_in_its_organisation(
    store: Arc<dyn Store>,
) {
    let (a, b) = (
        org(store.as_ref(), "A").await,
        org(store.as_ref(), "B").await,
    );
    let run = ImportRun {
        id: ImportRunId::new(),
        org_id: a,
        kind: "releases",
        actor: Actor::Cli,
        rows_total: 2500,
        rows_written: 0,
        started_at: t0(),
        heartbeat_at: t0(),
    };
    store.open_import(&run).await.unwrap();
    store
        .beat_import(run.id, 1000, t0() + mins(1))
        .await
        .unwrap();
    store.beat_import(run.id, 0, t0() + mins(2)).await.unwrap();

    let open = store.open_imports(Some(a)).await.unwrap();
    let expected = ImportRun {
        rows_written: 1000,
        heartbeat_at: t0() + mins(2),
        ..run.clone()
    };
    assert_eq!(
        open,
        [expected],
        "a heartbeat never lowers the rows written"
    );
    assert_eq!(store.open_imports(None).await.unwrap().len(), 1);
    assert!(store.open_imports(Some(b)).await.unwrap().is_empty());

    assert!(store.close_import(run.id, t0() + mins(3)).await.unwrap());
    assert!(
        !store.close_import(run.id, t0() + mins(4)).await.unwrap(),
        "closed once"
    );
    assert!(store.open_imports(None).await.unwrap().is_empty());
}
