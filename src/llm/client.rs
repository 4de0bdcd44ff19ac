//! One chat-completions request with a forced tool call, over plain HTTP.

use serde_json::{Value, json};

use super::LlmConfig;
use crate::message;

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
            .map_err(|e| message::llm_runtime_failed(&e))?;
        runtime.block_on(async {
            tokio::time::timeout(timeout, post(&url, key.as_deref(), body))
                .await
                .unwrap_or_else(|_| Err(message::llm_no_answer_within(&url, timeout)))
        })
    })
    .join()
    .map_err(|_| message::LLM_REQUEST_PANICKED.to_owned())??;
    let response: Value =
        serde_json::from_str(&text).map_err(|e| message::llm_answer_not_json(&e, &text))?;
    let arguments = response["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .ok_or_else(|| message::llm_no_forced_tool_call(name.as_str().unwrap_or("?"), &text))?;
    serde_json::from_str(arguments).map_err(|e| message::llm_arguments_not_json(&e, arguments))
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
        .map_err(|e| message::llm_url_unusable(url, &e))?;
    let response = client
        .request(request)
        .await
        .map_err(|e| message::llm_unreachable(url, &e))?;
    let status = response.status();
    let bytes = http_body_util::Limited::new(response.into_body(), 4 << 20)
        .collect()
        .await
        .map_err(|e| message::llm_answer_unread(url, &e))?
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if !status.is_success() {
        return Err(message::llm_http_status(url, &status, text.trim()));
    }
    Ok(text)
}
