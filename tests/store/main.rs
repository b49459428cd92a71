//! The `Store` conformance suite: one set of plain async test functions,
//! run unchanged against a fresh SQLite file and a fresh PostgreSQL
//! database. Each function states a contract of the trait; a backend passes
//! only if it keeps them all.
//!
//! Every test exists twice, as `sqlite::<name>` and `postgres::<name>`, so
//! `cargo test --test store postgres::` runs one backend. PostgreSQL
//! tests need `HOMEWARD_TEST_POSTGRES_URL` (see `throwaway`).

mod access;
mod connections;
mod dispatch;
mod fixtures;
mod harness;
mod inbound;
mod journal;
mod leader;
mod messages;
mod people;
mod privacy;
mod staff;
mod throwaway;
mod upkeep;

/// Declare each suite function once per backend. Functions listed under
/// `store` take the store; those under `db` take the whole test database,
/// for tests that open a second store on it (a second daemon).
macro_rules! conformance {
    (store: [$($smod:ident::$stest:ident),* $(,)?], db: [$($dmod:ident::$dtest:ident),* $(,)?] $(,)?) => {
        conformance!(@backend sqlite, Sqlite, [$($smod::$stest),*], [$($dmod::$dtest),*]);
        conformance!(@backend postgres, Postgres, [$($smod::$stest),*], [$($dmod::$dtest),*]);
    };
    (@backend $name:ident, $backend:ident, [$($smod:ident::$stest:ident),*], [$($dmod:ident::$dtest:ident),*]) => {
        mod $name {
            use crate::harness::{Backend, run};
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $stest() {
                    run(Backend::$backend, |db| crate::$smod::$stest(db.store.clone())).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $dtest() {
                    run(Backend::$backend, crate::$dmod::$dtest).await;
                }
            )*
        }
    };
}

conformance! {
    store: [
        journal::an_import_run_stays_open_until_closed_once_and_only_in_its_organisation,
        people::organisations_are_unique_by_name_and_listed_in_byte_order,
        people::a_token_identifies_its_organisation_and_role,
        people::upserting_a_person_reports_created_then_unchanged_then_updated,
        people::what_an_upsert_returns_equals_what_is_read_back,
        people::one_organisation_cannot_reach_another_organisations_people_or_events,
        people::people_are_listed_a_page_at_a_time_in_id_order,
        people::a_paused_number_stays_paused_until_the_number_changes,
        people::deleting_a_person_deletes_their_events,
        people::upserting_an_event_reports_created_then_unchanged_then_updated,
        people::events_are_listed_in_date_order_and_updated_in_place,
        people::an_import_reports_each_row_and_knows_people_created_earlier_in_the_batch,
        people::an_import_that_fails_leaves_nothing_behind,
        people::checking_an_import_reports_what_it_would_do_and_writes_nothing,
        people::concurrent_upserts_of_one_new_person_create_it_once,
        messages::a_planned_message_is_stored_with_its_first_transition,
        messages::messages_are_listed_by_filter_within_one_organisation,
        messages::a_dedupe_key_allows_one_live_message_and_a_second_plan_of_it_steps_aside,
        messages::a_live_message_is_found_by_its_key_within_its_organisation,
        messages::planning_moves_and_updates_only_waiting_messages,
        messages::cancelling_a_message_records_it_once_and_only_for_its_organisation,
        messages::an_outcome_is_recorded_once_and_read_back_as_a_goal,
        messages::messages_to_numbers_counts_live_texts_from_every_organisation,
        messages::events_with_people_walks_every_organisation_in_id_order,
        dispatch::due_messages_are_claimed_with_a_lease_and_the_claim_recorded,
        dispatch::an_expired_lease_is_claimable_again_and_the_stale_worker_cannot_record,
        dispatch::each_send_outcome_moves_the_claim_to_its_state,
        dispatch::releasing_puts_only_our_own_claim_back,
        dispatch::a_delivery_report_applies_once_and_late_reports_change_nothing,
        dispatch::a_delivery_report_reaches_only_what_its_own_provider_sent,
        dispatch::sends_to_a_number_include_claims_and_exclude_the_message_itself,
        dispatch::a_text_claimed_after_its_send_time_counts_from_its_claim,
        dispatch::a_number_marked_invalid_is_seen_at_claim_time_and_keeps_its_first_date,
        inbound::suppression_is_idempotent_audited_and_scoped_by_organisation,
        inbound::an_inbound_text_is_stored_once_and_shown_to_each_matched_person,
        inbound::several_peoples_replies_and_details_come_in_one_read_each,
        inbound::people_with_a_number_are_found_most_recently_updated_first,
        inbound::opting_back_in_revives_only_suppressed_texts_still_worth_sending,
        inbound::an_attention_item_is_raised_once_while_open_and_resolved_once,
        inbound::the_attention_list_is_read_a_page_at_a_time,
        inbound::a_queued_reply_is_seen_by_replied_since,
        inbound::people_whose_texts_go_undelivered_are_found_silent,
        access::tokens_are_listed_per_organisation_and_a_revoked_one_is_refused_at_once,
        access::a_tokens_last_use_only_moves_forward,
        access::an_audit_entry_reads_back_as_it_was_recorded,
        access::audit_entries_are_one_organisations_filtered_and_paged_in_recorded_order,
        staff::an_account_is_found_by_email_within_its_organisation_and_emails_are_unique,
        staff::a_password_link_works_once_and_never_after_it_expires,
        staff::setup_makes_the_first_admin_once_and_a_new_setup_link_replaces_the_old,
        staff::a_session_ends_at_sign_out_everywhere_and_when_its_user_is_disabled,
        staff::failed_sign_ins_are_counted_per_key_and_forgotten,
        staff::a_new_role_is_kept_and_ends_the_accounts_sessions,
        staff::people_are_found_by_first_name_whatever_its_case_and_accents,
    ],
    db: [
        upkeep::statistics_are_made_for_tables_never_analysed_and_refreshing_again_is_harmless,
        dispatch::two_daemons_claiming_at_once_never_share_a_message,
        inbound::a_suppression_is_seen_by_the_next_look_up_whoever_recorded_it,
        leader::one_daemon_leads_at_a_time_and_another_takes_over_when_it_stops,
        leader::a_lead_lost_with_its_session_passes_to_the_next_daemon_to_ask,
        connections::a_statement_stuck_behind_a_lock_gives_up_at_the_statement_timeout,
        connections::the_store_carries_on_after_postgresql_drops_its_sessions,
        privacy::words_typed_by_staff_are_sealed_at_rest_and_blanked_when_the_person_is_erased,
        privacy::words_stored_in_clear_by_an_older_homeward_are_sealed_at_start_up,
        staff::names_stored_before_they_were_indexed_are_found_after_start_up,
    ],
}
