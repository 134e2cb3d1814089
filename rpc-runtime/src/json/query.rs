//! URL query strings (`GET /Service/method?a=1&b=x`) to the JSON value of a request.
//!
//! One parameter per top-level field; its text is the field's JSON value without the quotes
//! (`name=alice`, `amount=-12`, `token=00ff…`, `kind=Deposit`, `ratio=NaN`). An array field
//! repeats its parameter once per element. Nested records and lists cannot be written this way
//! and are refused with a clear error: send them as a JSON body with `POST`.

use super::error::{JsonError, Result};
use crate::schema::{MessageDesc, TypeDesc};
use serde_json::{Map, Number, Value};

/// The request value a query stands for.
pub(crate) fn to_value(desc: &MessageDesc, query: &str) -> Result<Value> {
    let params = parse(query)?;
    let record = match desc {
        MessageDesc::Unit => {
            return match params.first() {
                None => Ok(Value::Null),
                Some((key, _)) => Err(JsonError::UnknownField {
                    path: format!("$.{key}"),
                }),
            };
        }
        MessageDesc::List(_) => {
            return Err(query_error(
                "this method takes a list of records, which a query string cannot carry; POST a JSON array instead",
            ));
        }
        MessageDesc::Record(record) => record,
    };
    let TypeDesc::Record { fields } = &record.ty else {
        // A request that is one enum or value, not a struct: `?value=...`.
        let mut iter = params.iter();
        return match (iter.next(), iter.next()) {
            (Some((key, text)), None) if key == "value" => scalar(&record.ty, text, "value"),
            _ => Err(query_error(
                "this request is a single value: pass it as the one parameter `value`",
            )),
        };
    };
    let mut map = Map::new();
    for (key, _) in &params {
        let known = fields
            .iter()
            .any(|f| f.name == *key && !matches!(f.ty, TypeDesc::Padding { .. }));
        if !known {
            return Err(JsonError::UnknownField {
                path: format!("$.{key}"),
            });
        }
    }
    for field in fields {
        let values: Vec<&str> = params
            .iter()
            .filter(|(k, _)| *k == field.name)
            .map(|(_, v)| v.as_str())
            .collect();
        let value = match &field.ty {
            TypeDesc::Padding { .. } => continue,
            TypeDesc::Record { .. } => {
                return Err(query_error(format!(
                    "field `{}` is a nested record, which a query string cannot carry; POST a JSON body instead",
                    field.name
                )));
            }
            TypeDesc::Array { element, .. } => {
                if matches!(**element, TypeDesc::Record { .. } | TypeDesc::Array { .. }) {
                    return Err(query_error(format!(
                        "field `{}` is an array of records or arrays, which a query string cannot carry; POST a JSON body instead",
                        field.name
                    )));
                }
                let items = values
                    .iter()
                    .map(|text| scalar(element, text, &field.name))
                    .collect::<Result<Vec<_>>>()?;
                Value::Array(items)
            }
            ty => match values.as_slice() {
                [] => continue,
                [text] => scalar(ty, text, &field.name)?,
                _ => {
                    return Err(query_error(format!(
                        "parameter `{}` is given {} times; the field holds one value",
                        field.name,
                        values.len()
                    )));
                }
            },
        };
        map.insert(field.name.clone(), value);
    }
    Ok(Value::Object(map))
}

fn query_error(problem: impl Into<String>) -> JsonError {
    JsonError::Query {
        problem: problem.into(),
    }
}

/// The JSON value a parameter's text stands for, given the field's type.
fn scalar(ty: &TypeDesc, text: &str, name: &str) -> Result<Value> {
    Ok(match ty {
        TypeDesc::Int { size, .. } if *size < 8 => match text.parse::<i64>() {
            Ok(n) => Value::Number(Number::from(n)),
            Err(_) => {
                return Err(JsonError::Mismatch {
                    path: format!("$.{name}"),
                    expected: "an integer".into(),
                    found: format!("{text:?}"),
                });
            }
        },
        TypeDesc::Float { .. } => match text {
            "NaN" | "Infinity" | "-Infinity" => Value::String(text.into()),
            _ => match text.parse::<f64>().ok().and_then(Number::from_f64) {
                Some(n) if !text.is_empty() && !text.starts_with(['+', '.']) => Value::Number(n),
                _ => {
                    return Err(JsonError::Mismatch {
                        path: format!("$.{name}"),
                        expected: "a number".into(),
                        found: format!("{text:?}"),
                    });
                }
            },
        },
        TypeDesc::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                return Err(JsonError::Mismatch {
                    path: format!("$.{name}"),
                    expected: "true or false".into(),
                    found: format!("{text:?}"),
                });
            }
        },
        // 64-bit integers, text, byte strings and enum names are JSON strings already.
        _ => Value::String(text.into()),
    })
}

/// Splits `a=1&b=x%20y` into decoded pairs; `+` is a space, as in HTML forms.
fn parse(query: &str) -> Result<Vec<(String, String)>> {
    let query = query.strip_prefix('?').unwrap_or(query);
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            Ok((decode(key)?, decode(value)?))
        })
        .collect()
}

/// Percent-decodes one component; the result must be UTF-8.
fn decode(text: &str) -> Result<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(|c| char::from(c).to_digit(16));
                let lo = bytes.next().and_then(|c| char::from(c).to_digit(16));
                match (hi, lo) {
                    // Two hex digits make a byte.
                    (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                    _ => {
                        return Err(query_error(format!("malformed percent escape in {text:?}")));
                    }
                }
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|_| query_error(format!("{text:?} is not UTF-8 once decoded")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_percent_decoded() {
        assert_eq!(decode("a%20b+c%2B").unwrap(), "a b c+");
        assert_eq!(decode("%C3%A9").unwrap(), "é");
        assert!(decode("%zz").is_err());
        assert!(decode("%4").is_err());
        assert!(decode("%ff").is_err());
        assert_eq!(
            parse("?a=1&&b&c=").unwrap(),
            [
                ("a".into(), "1".into()),
                ("b".into(), String::new()),
                ("c".into(), String::new())
            ]
        );
    }
}
