//! A real `docker-registry` on an ephemeral loopback port, and a fault-injecting HTTP proxy to
//! put in front of it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::require;

/// A port that was free a moment ago: bind to port 0 and let it go.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The status code of `GET /v2/`, or `None` while nothing answers.
fn ping(port: u16) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A `docker-registry` process, killed by PID when dropped.
pub struct RegistryServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl RegistryServer {
    /// A registry that anyone may push to.
    pub fn open() -> RegistryServer {
        RegistryServer::start(None)
    }

    /// A registry that wants `user`/`password` (htpasswd with bcrypt) for everything.
    pub fn htpasswd(user: &str, password: &str) -> RegistryServer {
        RegistryServer::start(Some((user, password)))
    }

    fn start(users: Option<(&str, &str)>) -> RegistryServer {
        require("docker-registry", "docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: test-secret\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = users {
            // The lowest cost keeps the registry's check of every request fast.
            let hash = bcrypt::hash(password, 4).unwrap();
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
            config += &format!(
                "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                htpasswd.display()
            );
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut server = RegistryServer { child, port, dir };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if matches!(ping(self.port), Some(200 | 401)) {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("docker-registry exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not answer on port {} within 20 s:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a Docker `config.json` with an `auths` entry for `host` and returns its path.
pub fn docker_config(dir: &Path, host: &str, user: &str, password: &str) -> PathBuf {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let path = dir.join("config.json");
    let json = serde_json::json!({ "auths": { host: { "auth": auth } } });
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

/// `skopeo inspect --raw` of a `docker://` reference on a loopback registry.
pub fn skopeo_raw(reference: &str) -> Vec<u8> {
    require("skopeo", "skopeo");
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--no-creds"])
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect --raw docker://{reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// What the proxy does to a request instead of forwarding it.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answers this status with a distribution-spec error body.
    Status(u16),
    /// Answers this status, content type and body.
    Respond(u16, &'static str, String),
    /// Closes the connection with the request unread, which the kernel turns into a reset.
    Reset,
    /// Forwards the head and half the body, then drops both connections.
    CutBody,
    /// Holds the connection without a word for this long.
    Stall(Duration),
}

struct Rule {
    /// Applies to requests whose line (`METHOD /path?query`) starts with this.
    prefix: String,
    fault: Fault,
    times: usize,
}

/// A fake token server, answering `Bearer` challenges as Docker Hub does.
struct TokenAuth {
    user: String,
    password: String,
    /// Token -> the scopes it was issued for.
    issued: HashMap<String, Vec<String>>,
    /// The scopes of each token request, in order.
    requests: Vec<Vec<String>>,
}

#[derive(Default)]
struct ProxyState {
    rules: Vec<Rule>,
    seen: Vec<String>,
    tokens: Option<TokenAuth>,
}

/// An HTTP/1.1 proxy on a loopback port in front of a registry, one request per connection.
pub struct FaultProxy {
    pub port: u16,
    state: Arc<Mutex<ProxyState>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    pub fn start(upstream: u16) -> FaultProxy {
        FaultProxy::with_state(upstream, ProxyState::default())
    }

    /// A proxy that wants a token from its own `/token` realm (given `user`/`password`)
    /// with the right repository scope for each request.
    pub fn with_token_auth(upstream: u16, user: &str, password: &str) -> FaultProxy {
        FaultProxy::with_state(
            upstream,
            ProxyState {
                tokens: Some(TokenAuth {
                    user: user.into(),
                    password: password.into(),
                    issued: HashMap::new(),
                    requests: Vec::new(),
                }),
                ..ProxyState::default()
            },
        )
    }

    fn with_state(upstream: u16, state: ProxyState) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(state));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || {
                        let _ = handle(conn, port, upstream, &state);
                    });
                }
            })
        };
        FaultProxy {
            port,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Applies `fault` to the next `times` requests whose line starts with `prefix`.
    pub fn inject(&self, prefix: &str, fault: Fault, times: usize) {
        self.state.lock().unwrap().rules.push(Rule {
            prefix: prefix.into(),
            fault,
            times,
        });
    }

    /// Faults not yet used up.
    pub fn pending(&self) -> usize {
        self.state
            .lock()
            .unwrap()
            .rules
            .iter()
            .map(|r| r.times)
            .sum()
    }

    /// The request lines seen, in order.
    pub fn seen(&self) -> Vec<String> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The scopes asked for by each token request.
    pub fn token_requests(&self) -> Vec<Vec<String>> {
        let state = self.state.lock().unwrap();
        state
            .tokens
            .as_ref()
            .map(|t| t.requests.clone())
            .unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads the request line without consuming it, so that a reset leaves it unread.
fn peek_line(conn: &TcpStream) -> std::io::Result<String> {
    let mut buf = [0u8; 8192];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = conn.peek(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(end) = buf[..n].windows(2).position(|w| w == b"\r\n") {
            return Ok(String::from_utf8_lossy(&buf[..end]).into_owned());
        }
        if Instant::now() > deadline {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn handle(
    conn: TcpStream,
    port: u16,
    upstream: u16,
    state: &Mutex<ProxyState>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let line = peek_line(&conn)?;
    let (method, target) = {
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        (method, parts.next().unwrap_or("").to_string())
    };
    let fault = {
        let mut state = state.lock().unwrap();
        state.seen.push(format!("{method} {target}"));
        let rule = state
            .rules
            .iter_mut()
            .find(|r| r.times > 0 && line.starts_with(&r.prefix));
        rule.map(|r| {
            r.times -= 1;
            r.fault.clone()
        })
    };
    match fault {
        Some(Fault::Reset) => return Ok(()),
        Some(Fault::Stall(d)) => {
            std::thread::sleep(d);
            return Ok(());
        }
        _ => {}
    }
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end().to_string();
        if h.is_empty() {
            break;
        }
        head.push(h);
    }
    let header = |name: &str| {
        head.iter().skip(1).find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    assert!(
        header("Transfer-Encoding").is_none(),
        "chunked bodies are not handled"
    );
    let length: usize = header("Content-Length").map_or(0, |v| v.parse().unwrap());
    let mut conn = conn;
    if let Some(Fault::CutBody) = fault {
        let mut half = vec![0u8; length / 2];
        reader.read_exact(&mut half)?;
        let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
        up.write_all(&forward_head(&head))?;
        up.write_all(&half)?;
        // Dropping both with the rest of the body unread resets the client's connection.
        return Ok(());
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let no_body = method == "HEAD";
    match fault {
        Some(Fault::Status(code)) => {
            let json = format!(
                r#"{{"errors":[{{"code":"INJECTED","message":"fault {code} injected by the test proxy"}}]}}"#
            );
            return respond(&mut conn, code, &[], "application/json", &json, no_body);
        }
        Some(Fault::Respond(code, content_type, text)) => {
            return respond(&mut conn, code, &[], content_type, &text, no_body);
        }
        _ => {}
    }
    let authorization = header("Authorization");
    if let Some(answer) = check_token(state, port, &method, &target, authorization.as_deref()) {
        let extra: Vec<(&str, &str)> = answer
            .challenge
            .iter()
            .map(|c| ("WWW-Authenticate", c.as_str()))
            .collect();
        let body = &answer.body;
        return respond(
            &mut conn,
            answer.code,
            &extra,
            "application/json",
            body,
            no_body,
        );
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(&forward_head(&head))?;
    up.write_all(&body)?;
    std::io::copy(&mut up, &mut conn)?;
    conn.shutdown(Shutdown::Both)
}

/// The request head with `Connection: close`, so one connection carries one request.
fn forward_head(head: &[String]) -> Vec<u8> {
    let mut out = String::new();
    for h in head {
        if !h.to_ascii_lowercase().starts_with("connection:") {
            out += h;
            out += "\r\n";
        }
    }
    out += "Connection: close\r\n\r\n";
    out.into_bytes()
}

fn respond(
    conn: &mut TcpStream,
    code: u16,
    headers: &[(&str, &str)],
    content_type: &str,
    body: &str,
    no_body: bool,
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {code} Injected\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        if no_body { 0 } else { body.len() }
    );
    for (k, v) in headers {
        out += &format!("{k}: {v}\r\n");
    }
    out += "\r\n";
    if !no_body {
        out += body;
    }
    conn.write_all(out.as_bytes())?;
    conn.shutdown(Shutdown::Both)
}

/// The token server's own answer.
struct Answer {
    code: u16,
    challenge: Option<String>,
    body: String,
}

/// With token auth on: answers `/token` and refuses a `/v2/` request whose token lacks the
/// scope it needs. `None` lets the request through.
fn check_token(
    state: &Mutex<ProxyState>,
    port: u16,
    method: &str,
    target: &str,
    authorization: Option<&str>,
) -> Option<Answer> {
    let mut state = state.lock().unwrap();
    let tokens = state.tokens.as_mut()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (unescape(k), unescape(v)))
        .collect();
    if path == "/token" {
        use base64::Engine as _;
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", tokens.user, tokens.password));
        if authorization != Some(&format!("Basic {expected}")) {
            let body =
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad user name or password"}]}"#;
            return Some(Answer {
                code: 401,
                challenge: None,
                body: body.into(),
            });
        }
        let scopes: Vec<String> = params
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect();
        let token = format!("token-{}", tokens.issued.len() + 1);
        tokens.issued.insert(token.clone(), scopes.clone());
        tokens.requests.push(scopes);
        return Some(Answer {
            code: 200,
            challenge: None,
            body: format!(r#"{{"token":"{token}"}}"#),
        });
    }
    let rest = path.strip_prefix("/v2/")?;
    let repo = ["/blobs/", "/manifests/", "/referrers/", "/tags/"]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
        .map(|i| &rest[..i])?;
    let write = matches!(method, "PUT" | "POST" | "PATCH" | "DELETE");
    let mut needed = vec![(repo.to_string(), write)];
    if let Some((_, from)) = params.iter().find(|(k, _)| k == "from") {
        needed.push((from.clone(), false));
    }
    let granted = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .and_then(|t| tokens.issued.get(t));
    let allows = |(name, write): &(String, bool)| {
        granted.is_some_and(|scopes| {
            scopes.iter().any(|s| {
                let Some(actions) = s.strip_prefix(&format!("repository:{name}:")) else {
                    return false;
                };
                let actions: Vec<&str> = actions.split(',').collect();
                actions.contains(&"pull") && (!write || actions.contains(&"push"))
            })
        })
    };
    if needed.iter().all(allows) {
        return None;
    }
    let actions = if write { "pull,push" } else { "pull" };
    let challenge = format!(
        r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake-registry",scope="repository:{repo}:{actions}""#
    );
    let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
    Some(Answer {
        code: 401,
        challenge: Some(challenge),
        body: body.into(),
    })
}

fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
