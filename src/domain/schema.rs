//! How domain values look in the API description (`/openapi.json`).
//!
//! On the wire each value type is a JSON string. Its schema says which
//! strings it accepts, in the same terms as its parser, so a client or a
//! contract test learns the rules without reading the code. Patterns are
//! written in the common subset of ECMAScript and Python regular
//! expressions, since both kinds of tool read them.

use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};

/// A string schema with a description, to refine with a pattern or length.
pub(crate) fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

/// A string of at most `max` characters, matching `pattern` if given.
pub(crate) fn text(description: &str, max: usize, pattern: Option<&str>) -> ObjectBuilder {
    string(description)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(pattern)
}

/// An identifier: a UUID in its usual hyphenated form.
pub(crate) fn uuid(description: &str) -> ObjectBuilder {
    // utoipa names the format only with its `uuid` feature, which we do not need.
    string(description).format(Some(SchemaFormat::Custom("uuid".into())))
}

/// A doc comment's lines (as `#[doc]` attributes give them) as one paragraph.
pub(crate) fn paragraph(lines: &[&str]) -> String {
    lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")
}

/// Implements `ToSchema` for a type with a hand-written schema, so the type
/// is described once, as a named component, wherever it appears.
macro_rules! describe {
    ($name:ty, $schema:expr) => {
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                $schema.into()
            }
        }

        impl ::utoipa::ToSchema for $name {}
    };
}
pub(crate) use describe;
