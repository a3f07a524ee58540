//! Field values: scalars only, so a `fields` map can never nest.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// One field value: an integer, a float, a bool or a string.
///
/// Its decoder accepts scalars only; a map or a list inside `fields` is a
/// decoding error, not a nested value, so field values never recurse.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A signed integer (unsigned ones up to `i64::MAX` are accepted).
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string (the hub limits it to 256 bytes).
    Str(String),
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Int(value) => serializer.serialize_i64(*value),
            Self::Float(value) => serializer.serialize_f64(*value),
            Self::Bool(value) => serializer.serialize_bool(*value),
            Self::Str(value) => serializer.serialize_str(value),
        }
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, float, bool or string")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Scalar, E> {
        i64::try_from(value)
            .map(Scalar::Int)
            .map_err(|_| E::custom(format!("integer {value} is larger than {}", i64::MAX)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(value))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl From<i64> for Scalar {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<f64> for Scalar {
    fn from(value: f64) -> Self {
        Self::Float(value)
    }
}

impl From<bool> for Scalar {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<&str> for Scalar {
    fn from(value: &str) -> Self {
        Self::Str(value.to_owned())
    }
}

/// The OpenAPI schema: any of integer, number, boolean or string. It is `anyOf`,
/// not `oneOf`: a whole number is both an integer and a number in JSON Schema.
#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, SchemaType, Type};

    fn scalar() -> RefOr<Schema> {
        let of = |kind: Type| ObjectBuilder::new().schema_type(SchemaType::Type(kind));
        AnyOfBuilder::new()
            .item(of(Type::Integer))
            .item(of(Type::Number))
            .item(of(Type::Boolean))
            .item(of(Type::String).max_length(Some(256)))
            .description(Some(
                "A field value: integer, number, boolean or string (at most 256 bytes).",
            ))
            .into()
    }

    impl utoipa::ToSchema for super::Scalar {}

    // utoipa derives `PartialSchema` from this (its generic plumbing), which lets
    // derived schemas use `Scalar` as a map value.
    impl utoipa::__dev::ComposeSchema for super::Scalar {
        fn compose(_: Vec<RefOr<Schema>>) -> RefOr<Schema> {
            scalar()
        }
    }
}
