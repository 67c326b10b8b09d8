//! A deserializer adapter under which a struct is read from a JSON object only.
//!
//! serde's derived `Deserialize` for a struct also accepts a sequence, filling the fields by
//! position: `[1]` would set a body's first field, `{"events": [[null, "T", {}]]}` would append
//! an event. Every struct of this API is documented as an object, so [`ObjectsOnly`] wraps the
//! JSON deserializer and, all the way down, refuses a sequence where a struct (or a struct
//! variant) is asked for.
//!
//! It also reads a number written with a fraction of zero (`5.0`) where an integer is asked
//! for: JSON Schema counts `5.0` as an integer, so the OpenAPI document's `integer` fields
//! would otherwise refuse what their schema allows. A real fraction (`5.5`) is still refused.
//! Everything else passes through unchanged, `RawValue`s included.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

/// `D`, with structs read from objects only.
pub struct ObjectsOnly<D>(pub D);

/// A visitor that refuses sequences where a struct is asked for, reads integral floats where
/// an integer is, and wraps what it hands on.
struct Wrap<V> {
    inner: V,
    asked: Asked,
}

/// What the visitor's caller asked the deserializer for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asked {
    Struct,
    Integer,
    Other,
}

impl<V> Wrap<V> {
    fn plain(inner: V) -> Self {
        Self {
            inner,
            asked: Asked::Other,
        }
    }

    fn integer(inner: V) -> Self {
        Self {
            inner,
            asked: Asked::Integer,
        }
    }

    fn structure(inner: V) -> Self {
        Self {
            inner,
            asked: Asked::Struct,
        }
    }
}

struct Seed<S>(S);
struct Seq<A>(A);
struct Map<A>(A);
struct Enum<A>(A);
struct Variant<A>(A);

macro_rules! forward {
    ($wrap:ident: $($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                self.0.$method(Wrap::$wrap(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    forward!(
        integer: deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
    );

    forward!(
        plain: deserialize_any,
        deserialize_bool,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, Wrap::plain(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_newtype_struct(name, Wrap::plain(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple(len, Wrap::plain(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_tuple_struct(name, len, Wrap::plain(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_struct(name, fields, Wrap::structure(visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_enum(name, variants, Wrap::plain(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! visit {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
                self.inner.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        self.inner.expecting(formatter)
    }

    visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<V::Value, E> {
        match (self.asked, eventfold_store::exact_integer(value)) {
            (Asked::Integer, Some(n)) => match u64::try_from(n) {
                Ok(unsigned) => self.inner.visit_u64(unsigned),
                Err(_) => self.inner.visit_i64(n),
            },
            _ => self.inner.visit_f64(value),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(ObjectsOnly(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(ObjectsOnly(deserializer))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        if self.asked == Asked::Struct {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &"an object"));
        }
        self.inner.visit_seq(Seq(seq))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Map(map))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(Enum(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(ObjectsOnly(deserializer))
    }
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Map<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Enum<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(Seed(seed))?;
        Ok((value, Variant(variant)))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap::plain(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrap::structure(visitor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::value::RawValue;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        items: Vec<Inner>,
        #[serde(default)]
        tagged: Option<Tagged>,
        #[serde(default)]
        raw: Option<Box<RawValue>>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        n: u32,
        #[serde(default)]
        name: Option<String>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Tagged {
        Plain(Inner),
        Fields { n: u32 },
    }

    fn strict(text: &str) -> Result<Outer, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let value = Outer::deserialize(ObjectsOnly(&mut deserializer))?;
        deserializer.end()?;
        Ok(value)
    }

    #[test]
    fn integral_floats_are_integers_and_fractions_are_not() {
        let parsed = strict(r#"{"items": [{"n": 7.0}, {"n": 1e3}]}"#).unwrap();
        let numbers: Vec<u32> = parsed.items.iter().map(|item| item.n).collect();
        assert_eq!(numbers, [7, 1000]);
        for bad in [
            r#"{"items": [{"n": 7.5}]}"#,
            r#"{"items": [{"n": -1.0}]}"#,
            r#"{"items": [{"n": 1e10}]}"#,
        ] {
            assert!(strict(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn structs_come_from_objects_only() {
        let ok = r#"{"items": [{"n": 1}, {"n": 2, "name": "x"}], "tagged": {"plain": {"n": 3}}, "raw": {"a": [1, 2]}}"#;
        let parsed = strict(ok).unwrap();
        let plain = serde_json::from_str::<Outer>(ok).unwrap();
        assert_eq!(parsed.items, plain.items);
        assert_eq!(parsed.tagged, plain.tagged);
        assert_eq!(
            parsed.raw.unwrap().get(),
            r#"{"a": [1, 2]}"#,
            "raw values pass verbatim"
        );
        for bad in [
            r#"[[{"n": 1}]]"#,
            r#"{"items": [[1]]}"#,
            r#"{"items": [[1, "x"]]}"#,
            r#"{"items": [], "tagged": {"plain": [3]}}"#,
            r#"{"items": [], "tagged": {"fields": [3]}}"#,
        ] {
            assert!(
                serde_json::from_str::<Outer>(bad).is_ok() || bad.starts_with("[["),
                "{bad} parses without the adapter"
            );
            let error = strict(bad).unwrap_err().to_string();
            assert!(error.contains("an object"), "{bad}: {error}");
        }
    }
}
