//! The agent a run calls: the built-in ones, or one in another process (a program, an HTTP
//! service, an OpenAI-compatible or Retell server), chosen by the flags, checked once before
//! any call (a bad flag or an agent nobody runs is one usage error, not a failure in every
//! case), and made for each call.

use std::io;
use std::path::Path;
use std::time::Duration;

use crate::agent::Erased;
use crate::agent::HttpPool;
use crate::{BuiltinAgent, Case, CommandAgent, HttpAgent, OpenAiAgent, RetellAgent};

use crate::cli::Usage;
use crate::cli::args::RunArgs;
use crate::cli::output::usage;

/// The flags' agent, checked: makes the agent of each call.
pub(crate) struct Agents<'a> {
    args: &'a RunArgs,
    /// `--agent-command`'s program and its arguments.
    argv: Option<Vec<String>>,
    /// The keep-alive connections the calls in flight share (see [`Agents::with_pool`]).
    pool: Option<HttpPool>,
}

impl<'a> Agents<'a> {
    /// Checks the agent flags once, before any call (see [`check_agent`]).
    pub(crate) fn check(args: &'a RunArgs) -> Result<Self, Usage> {
        let agents = Self {
            args,
            argv: check_agent(args)?,
            pool: None,
        };
        if !agents.external() && (args.concurrency.is_some() || args.rate.is_some()) {
            return Err(usage::concurrency_without_agent());
        }
        Ok(agents)
    }

    /// The agent runs in another process (a program, a service).
    pub(crate) fn external(&self) -> bool {
        self.argv.is_some()
            || self.args.agent_url.is_some()
            || self.args.agent_openai.is_some()
            || self.args.agent_retell.is_some()
    }

    /// Connections for the HTTP and OpenAI agents' calls to share.
    pub(crate) fn with_pool(mut self, pool: Option<HttpPool>) -> Self {
        self.pool = pool;
        self
    }

    /// The agent of one call of `case`, made just before the call starts: erased, as the
    /// pipeline takes every agent (`agent/erased.rs`), which forwards all it says.
    pub(crate) fn make(&self, case: &Case) -> Erased<'static> {
        let args = self.args;
        match (&self.argv, &args.agent_url) {
            (Some(argv), _) => Erased::new(CommandAgent::new(argv.clone())),
            (None, Some(url)) => {
                let agent = HttpAgent::new(url.clone()).with_timeout(args.turn_timeout);
                Erased::new(match &self.pool {
                    // A case that needs an LLM runs on a runtime of its own (see
                    // run_suite_in_flight): not with connections of the calls in flight.
                    Some(pool) if !case.uses_llm() => agent.with_pool(pool.clone()),
                    _ => agent,
                })
            }
            (None, None) => match (&args.agent_openai, &args.agent_retell) {
                (Some(url), _) => {
                    let mut agent = OpenAiAgent::new(url.clone()).with_timeout(args.turn_timeout);
                    if let Some(model) = &args.agent_model {
                        agent = agent.with_model(model.clone());
                    }
                    if let Some(prompt) = &args.agent_system_prompt {
                        agent = agent.with_system_prompt(prompt.clone());
                    }
                    for (name, value) in args.agent_headers.iter().filter_map(|h| h.split_once(':'))
                    {
                        agent = agent.with_header(name.trim(), value.trim());
                    }
                    match &self.pool {
                        // As for HTTP agents: a case that needs an LLM runs on a runtime of
                        // its own, not with connections of the calls in flight.
                        Some(pool) if !case.uses_llm() => agent = agent.with_pool(pool.clone()),
                        _ => {}
                    }
                    Erased::new(agent)
                }
                (None, Some(url)) => {
                    Erased::new(RetellAgent::new(url.clone()).with_timeout(args.turn_timeout))
                }
                (None, None) => Erased::new(BuiltinAgent::for_case(case)),
            },
        }
    }
}

/// Problems that would fail every case are said once, before any call.
fn check_agent(args: &RunArgs) -> Result<Option<Vec<String>>, Usage> {
    if let Some(url) = &args.agent_url {
        if url.starts_with("https://") {
            return Err(usage::https_agent_url(url));
        }
        if !url.starts_with("http://") {
            return Err(usage::not_http_agent_url(url));
        }
        // Parsed as each request will parse it: a URL that cannot be is one usage error,
        // not the same failure in every case (#23.20).
        let why = match url.parse::<hyper::Uri>() {
            Ok(uri) if uri.host().is_some_and(|h| !h.is_empty()) => None,
            Ok(_) => Some("no host".to_owned()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = why {
            return Err(usage::bad_agent_url(url, &why));
        }
    }
    check_protocol_agent(args)?;
    let Some(command) = &args.agent_command else {
        return Ok(None);
    };
    let argv = match shlex::split(command) {
        Some(argv) if !argv.is_empty() => argv,
        _ => {
            return Err(usage::unsplittable_command(command));
        }
    };
    if !program_exists(&argv[0]) {
        return Err(usage::no_program(&argv[0]));
    }
    Ok(Some(argv))
}

/// `--agent-openai`, `--agent-retell` and `--agent-header`: said once, before any call. A
/// header's value is never repeated back (it is usually a key).
fn check_protocol_agent(args: &RunArgs) -> Result<(), Usage> {
    if let Some(url) = &args.agent_openai {
        if !url.starts_with("http://") {
            return Err(usage::bad_openai_url(url));
        }
    }
    if let Some(url) = &args.agent_retell {
        if !url.starts_with("ws://") {
            return Err(usage::bad_retell_url(url));
        }
    }
    for (i, header) in args.agent_headers.iter().enumerate() {
        let valid = header.split_once(':').is_some_and(|(name, value)| {
            hyper::header::HeaderName::from_bytes(name.trim().as_bytes()).is_ok()
                && hyper::header::HeaderValue::from_str(value.trim()).is_ok()
        });
        if !valid {
            return Err(usage::bad_header(i + 1));
        }
    }
    Ok(())
}

/// One TCP connect to each agent URL's host and port, before any call (#25): an agent
/// that is not running is one usage error, not `connection refused` in every case. Only a
/// refused connection is said; a name that does not resolve, or a slow or filtered port,
/// is left to the calls, which say it with their own bounds.
pub(crate) fn probe_agents(args: &RunArgs) -> Result<(), Usage> {
    let urls = [
        ("--agent-url", &args.agent_url),
        ("--agent-openai", &args.agent_openai),
        ("--agent-retell", &args.agent_retell),
    ];
    for (flag, url) in urls {
        let Some(url) = url else { continue };
        let Some(target) = url
            .parse::<hyper::Uri>()
            .ok()
            .and_then(|uri| Some(format!("{}:{}", uri.host()?, uri.port_u16().unwrap_or(80))))
        else {
            continue;
        };
        if nobody_listens(&target) {
            return Err(usage::nobody_listens(flag, url, &target));
        }
    }
    Ok(())
}

/// Every address `target` resolves to refuses a connection (each try bounded by 2 s).
fn nobody_listens(target: &str) -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    let Ok(addrs) = target.to_socket_addrs() else {
        return false;
    };
    let mut refused = false;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(_) => return false,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => refused = true,
            Err(_) => return false,
        }
    }
    refused
}

/// The `run.agent` of the report for a protocol agent: its kind and URL (and model), never
/// its headers.
pub(crate) fn protocol_agent_meta(args: &RunArgs) -> Option<String> {
    if let Some(url) = &args.agent_openai {
        let model = args.agent_model.as_deref().unwrap_or("voice-harness");
        return Some(format!("openai: {url} (model {model})"));
    }
    args.agent_retell
        .as_ref()
        .map(|url| format!("retell: {url}"))
}

/// Whether `program` names a file, or a file on `PATH` when it has no `/`.
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    crate::config::path_dirs()
        .iter()
        .any(|dir| dir.join(program).is_file())
}
