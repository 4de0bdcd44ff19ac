//! Reading a platform's export: a JSON value and the path that led to it, so every problem
//! names where it is (`message.artifact.messages[3].time`).

use serde_json::Value;

use super::message::{self, Problem};

/// A value of the export and its JSON path.
#[derive(Debug, Clone)]
pub(crate) struct At<'a> {
    pub(crate) value: &'a Value,
    pub(crate) path: String,
}

impl<'a> At<'a> {
    /// The top-level value.
    pub(crate) fn root(value: &'a Value) -> Self {
        Self {
            value,
            path: String::new(),
        }
    }

    /// The path of `key` in this object.
    pub(crate) fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The field `key`, when this is an object that has it and it is not `null`.
    pub(crate) fn get(&self, key: &str) -> Option<At<'a>> {
        match self.value.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(At {
                value,
                path: self.key_path(key),
            }),
        }
    }

    /// The field `key`, which must be there.
    pub(crate) fn req(&self, key: &str, expected: &str) -> Result<At<'a>, Problem> {
        self.get(key)
            .ok_or_else(|| Problem::new(self.key_path(key), expected, message::NOTHING))
    }

    /// Whether this object has the field `key` (even `null`).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.value.get(key).is_some()
    }

    /// A problem at this value: `expected`, and what is here.
    pub(crate) fn wrong(&self, expected: &str) -> Problem {
        Problem::new(self.path.clone(), expected, message::describe(self.value))
    }

    pub(crate) fn str(&self, expected: &str) -> Result<&'a str, Problem> {
        self.value.as_str().ok_or_else(|| self.wrong(expected))
    }

    /// A tool's name: a string that is not blank.
    pub(crate) fn tool_name(&self) -> Result<&'a str, Problem> {
        match self.value.as_str() {
            Some(name) if !name.trim().is_empty() => Ok(name),
            _ => Err(self.wrong("the tool's name (a string that is not blank)")),
        }
    }

    pub(crate) fn f64(&self, expected: &str) -> Result<f64, Problem> {
        match self.value.as_f64() {
            Some(n) if n.is_finite() => Ok(n),
            _ => Err(self.wrong(expected)),
        }
    }

    pub(crate) fn bool(&self, expected: &str) -> Result<bool, Problem> {
        self.value.as_bool().ok_or_else(|| self.wrong(expected))
    }

    pub(crate) fn array(&self, expected: &str) -> Result<Vec<At<'a>>, Problem> {
        let items = self.value.as_array().ok_or_else(|| self.wrong(expected))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| At {
                value,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }

    /// An optional string field: absent or `null` is `None`, another type is a problem.
    pub(crate) fn opt_str(&self, key: &str, expected: &str) -> Result<Option<&'a str>, Problem> {
        self.get(key).map(|at| at.str(expected)).transpose()
    }

    /// An optional number field.
    pub(crate) fn opt_f64(&self, key: &str, expected: &str) -> Result<Option<f64>, Problem> {
        self.get(key).map(|at| at.f64(expected)).transpose()
    }

    /// An optional boolean field.
    pub(crate) fn opt_bool(&self, key: &str, expected: &str) -> Result<Option<bool>, Problem> {
        self.get(key).map(|at| at.bool(expected)).transpose()
    }
}

/// Seconds (as the platforms write them) to whole milliseconds.
pub(crate) fn ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// Arguments written as a JSON string (or, from some exports, already an object): the
/// object they hold. An empty string is no arguments.
pub(crate) fn arguments(at: &At<'_>) -> Result<Value, Problem> {
    let parsed = match at.value {
        Value::Object(_) => at.value.clone(),
        Value::String(text) if text.trim().is_empty() => Value::Object(Default::default()),
        Value::String(text) => serde_json::from_str::<Value>(text).map_err(|e| {
            Problem::new(
                at.path.clone(),
                message::ARGUMENTS,
                format!("{} (not JSON: {e})", message::describe(at.value)),
            )
            .help(message::ARGUMENTS_HELP)
        })?,
        _ => return Err(at.wrong(message::ARGUMENTS)),
    };
    if !parsed.is_object() {
        return Err(Problem::new(
            at.path.clone(),
            message::ARGUMENTS,
            format!("{} (JSON, but not an object)", message::describe(at.value)),
        )
        .help(message::ARGUMENTS_HELP));
    }
    Ok(parsed)
}

/// A tool's result: a string that holds JSON is that JSON; any other string stays text.
pub(crate) fn result(value: &Value) -> Value {
    match value {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(parsed) if !text.trim().is_empty() => parsed,
            _ => value.clone(),
        },
        other => other.clone(),
    }
}
