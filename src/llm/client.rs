//! One chat-completions request with a forced tool call, over plain HTTP.

use serde_json::{Value, json};

use super::LlmConfig;

/// Asks `url` to answer `messages` by calling `tool`; the tool's arguments, parsed.
pub(super) fn ask(
    url: &str,
    config: &LlmConfig,
    messages: &Value,
    tool: &Value,
) -> Result<Value, String> {
    let name = tool["function"]["name"].clone();
    let body = json!({
        "model": config.model,
        "temperature": 0,
        "messages": messages,
        "tools": [tool],
        "tool_choice": {"type": "function", "function": {"name": name}},
    })
    .to_string();
    // Its own thread and runtime: callers may be on a runtime of their own.
    let (url, key, timeout) = (url.to_owned(), config.key.clone(), config.timeout);
    let text = std::thread::spawn(move || -> Result<String, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime for the LLM request: {e}"))?;
        runtime.block_on(async {
            tokio::time::timeout(timeout, post(&url, key.as_deref(), body))
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "the LLM at {url} gave no answer within {}",
                        crate::message::human_duration(timeout)
                    ))
                })
        })
    })
    .join()
    .map_err(|_| "the LLM request panicked".to_owned())??;
    let response: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "the LLM's answer is not JSON ({e}): {}",
            crate::message::quote(&text)
        )
    })?;
    let arguments = response["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .ok_or_else(|| {
            format!(
                "the LLM did not answer with the forced `{}` tool call: {}",
                name.as_str().unwrap_or("?"),
                crate::message::quote(&text)
            )
        })?;
    serde_json::from_str(arguments).map_err(|e| {
        format!(
            "the LLM's tool arguments are not JSON ({e}): {}",
            crate::message::quote(arguments)
        )
    })
}

async fn post(url: &str, key: Option<&str>, body: String) -> Result<String, String> {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<hyper::body::Bytes>>();
    let mut request = hyper::Request::post(url).header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let request = request
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
        .map_err(|e| format!("the LLM URL {url} is not usable: {e}"))?;
    let response = client
        .request(request)
        .await
        .map_err(|e| format!("cannot reach the LLM at {url}: {e}"))?;
    let status = response.status();
    let bytes = http_body_util::Limited::new(response.into_body(), 4 << 20)
        .collect()
        .await
        .map_err(|e| format!("could not read the LLM's answer from {url}: {e}"))?
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if !status.is_success() {
        return Err(format!(
            "the LLM at {url} answered HTTP {status}: {}",
            crate::message::quote(text.trim())
        ));
    }
    Ok(text)
}
