//! A small RESP2 client over tokio: enough to talk to Redis and Sentinel the way the gateway does
//! (AUTH, SENTINEL get-master-addr-by-name, INCR, INFO), with a time limit on every operation.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Deepest nesting of arrays accepted in a reply (Redis never nests deeper than a few levels).
const MAX_DEPTH: usize = 8;
/// Largest bulk string or array accepted in a reply.
const MAX_LEN: usize = 64 * 1024 * 1024;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Simple(String),
    /// `-ERR ...`: an error reply (the command failed; the connection is still usable).
    Error(String),
    /// `:42`.
    Integer(i64),
    /// `$n` bulk string, `None` for the null bulk string.
    Bulk(Option<Vec<u8>>),
    /// `*n` array, `None` for the null array.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text (simple or bulk string), if it is one.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// What went wrong talking to a Redis or Sentinel process.
#[derive(Debug, thiserror::Error)]
pub enum RespError {
    /// Connecting, reading or writing failed.
    #[error("{addr}: {source}")]
    Io {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// No answer within the time limit.
    #[error("{addr}: no answer within {limit:?}")]
    Timeout {
        /// The address.
        addr: String,
        /// The limit.
        limit: Duration,
    },
    /// The peer sent something that is not RESP2.
    #[error("{addr}: protocol error: {message}")]
    Protocol {
        /// The address.
        addr: String,
        /// What was wrong.
        message: String,
    },
    /// The server answered with an error reply where success was required.
    #[error("{addr}: {message}")]
    Server {
        /// The address.
        addr: String,
        /// The error reply, e.g. `NOAUTH Authentication required.`
        message: String,
    },
}

impl RespError {
    /// The error reply text, when the server answered with one.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            RespError::Server { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// One connection to a Redis data node or Sentinel.
#[derive(Debug)]
pub struct Connection {
    addr: String,
    stream: BufReader<TcpStream>,
    limit: Duration,
}

impl Connection {
    /// Connects to `127.0.0.1:port` (or any `host:port`); every later operation gets `limit`.
    pub async fn connect(addr: &str, limit: Duration) -> Result<Connection, RespError> {
        let stream = match timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => {
                return Err(RespError::Io {
                    addr: addr.into(),
                    source,
                });
            }
            Err(_) => {
                return Err(RespError::Timeout {
                    addr: addr.into(),
                    limit,
                });
            }
        };
        stream.set_nodelay(true).map_err(|source| RespError::Io {
            addr: addr.into(),
            source,
        })?;
        Ok(Connection {
            addr: addr.into(),
            stream: BufReader::new(stream),
            limit,
        })
    }

    /// Connects and authenticates with `password` (when given).
    pub async fn connect_auth(
        addr: &str,
        password: Option<&str>,
        limit: Duration,
    ) -> Result<Connection, RespError> {
        let mut c = Connection::connect(addr, limit).await?;
        if let Some(password) = password {
            c.ok(&["AUTH", password]).await?;
        }
        Ok(c)
    }

    /// The address this connection goes to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends one command and reads its reply (an error reply is `Ok(Reply::Error)`).
    pub async fn command(&mut self, args: &[&str]) -> Result<Reply, RespError> {
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        let limit = self.limit;
        let addr = self.addr.clone();
        let exchange = async {
            self.stream
                .get_mut()
                .write_all(&request)
                .await
                .map_err(|source| RespError::Io {
                    addr: addr.clone(),
                    source,
                })?;
            read_reply(&mut self.stream, &addr, 0).await
        };
        match timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(RespError::Timeout { addr, limit }),
        }
    }

    /// Sends one command; an error reply becomes [`RespError::Server`].
    pub async fn ok(&mut self, args: &[&str]) -> Result<Reply, RespError> {
        match self.command(args).await? {
            Reply::Error(message) => Err(RespError::Server {
                addr: self.addr.clone(),
                message,
            }),
            reply => Ok(reply),
        }
    }

    /// `INFO section` parsed into `field -> value`.
    pub async fn info(
        &mut self,
        section: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, RespError> {
        let reply = self.ok(&["INFO", section]).await?;
        let text = reply.as_text().unwrap_or_default();
        Ok(text
            .lines()
            .filter_map(|line| line.trim_end().split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }
}

fn protocol(addr: &str, message: impl Into<String>) -> RespError {
    RespError::Protocol {
        addr: addr.into(),
        message: message.into(),
    }
}

async fn read_line(stream: &mut BufReader<TcpStream>, addr: &str) -> Result<String, RespError> {
    let mut line = Vec::new();
    let n = stream
        .read_until(b'\n', &mut line)
        .await
        .map_err(|source| RespError::Io {
            addr: addr.into(),
            source,
        })?;
    if n == 0 {
        return Err(RespError::Io {
            addr: addr.into(),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed by the server",
            ),
        });
    }
    if !line.ends_with(b"\r\n") {
        return Err(protocol(addr, "line without CRLF"));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|_| protocol(addr, "line is not UTF-8"))
}

fn parse_len(text: &str, addr: &str) -> Result<Option<usize>, RespError> {
    let n: i64 = text
        .parse()
        .map_err(|_| protocol(addr, format!("bad length {text:?}")))?;
    if n < 0 {
        return Ok(None);
    }
    let n = n as usize;
    if n > MAX_LEN {
        return Err(protocol(addr, format!("length {n} too large")));
    }
    Ok(Some(n))
}

fn read_reply<'a>(
    stream: &'a mut BufReader<TcpStream>,
    addr: &'a str,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Reply, RespError>> + Send + 'a>> {
    Box::pin(async move {
        if depth > MAX_DEPTH {
            return Err(protocol(addr, "reply nested too deeply"));
        }
        let line = read_line(stream, addr).await?;
        let (kind, rest) = line.split_at(line.len().min(1));
        match kind {
            "+" => Ok(Reply::Simple(rest.to_string())),
            "-" => Ok(Reply::Error(rest.to_string())),
            ":" => rest
                .parse()
                .map(Reply::Integer)
                .map_err(|_| protocol(addr, format!("bad integer {rest:?}"))),
            "$" => match parse_len(rest, addr)? {
                None => Ok(Reply::Bulk(None)),
                Some(n) => {
                    let mut buf = vec![0; n + 2];
                    stream
                        .read_exact(&mut buf)
                        .await
                        .map_err(|source| RespError::Io {
                            addr: addr.into(),
                            source,
                        })?;
                    if !buf.ends_with(b"\r\n") {
                        return Err(protocol(addr, "bulk string without CRLF"));
                    }
                    buf.truncate(n);
                    Ok(Reply::Bulk(Some(buf)))
                }
            },
            "*" => match parse_len(rest, addr)? {
                None => Ok(Reply::Array(None)),
                Some(n) => {
                    let mut items = Vec::with_capacity(n.min(1024));
                    for _ in 0..n {
                        items.push(read_reply(stream, addr, depth + 1).await?);
                    }
                    Ok(Reply::Array(Some(items)))
                }
            },
            _ => Err(protocol(addr, format!("unknown reply type in {line:?}"))),
        }
    })
}
