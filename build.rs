//! `sqlx::migrate!` reads `migrations/` when the crate compiles, and
//! nothing tells cargo that a new file there calls for compiling again;
//! this does (what `sqlx migrate build-script` writes).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
