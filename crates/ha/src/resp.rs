//! Talking to Redis and Sentinel the way the gateway does (AUTH, `SENTINEL get-master-addr-by-name`,
//! INCR, INFO), through the `redis` crate's async connection, with a tokio time limit on every
//! operation.
//!
//! [`Reply`] is the harness's view of a `redis::Value`: the five RESP2 shapes it checks, with an
//! error reply kept as a value (the command failed; the connection is still usable) rather than
//! turned into an `Err`, so that tests can assert on `NOAUTH`, `NOREPLICAS` or `READONLY`.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ClientTlsConfig, IntoConnectionInfo, RedisConnectionInfo,
    TlsCertificates, Value,
};
use tokio::time::timeout;

/// One reply, in the RESP2 shapes Redis and Sentinel 7 answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Simple(String),
    /// `-ERR ...`: an error reply (the command failed; the connection is still usable).
    Error(String),
    /// `:42`.
    Integer(i64),
    /// A bulk string, `None` for the null bulk string.
    Bulk(Option<Vec<u8>>),
    /// An array, `None` for the null array.
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

impl From<Value> for Reply {
    fn from(value: Value) -> Reply {
        match value {
            Value::Nil => Reply::Bulk(None),
            Value::Int(i) => Reply::Integer(i),
            Value::BulkString(b) => Reply::Bulk(Some(b)),
            Value::SimpleString(s) => Reply::Simple(s),
            Value::Okay => Reply::Simple("OK".into()),
            Value::Array(items) | Value::Set(items) => {
                Reply::Array(Some(items.into_iter().map(Reply::from).collect()))
            }
            Value::ServerError(e) => Reply::Error(error_text(&e)),
            // RESP3-only shapes; the harness speaks RESP2, so these are not expected.
            other => Reply::Error(format!("unexpected RESP3 reply {other:?}")),
        }
    }
}

/// An error reply as the server sent it: `CODE detail`.
fn error_text(e: &redis::ServerError) -> String {
    match e.details() {
        Some(detail) => format!("{} {detail}", e.code()),
        None => e.code().to_string(),
    }
}

/// What went wrong talking to a Redis or Sentinel process.
#[derive(Debug, thiserror::Error)]
pub enum RespError {
    /// Connecting, reading or writing failed (also: the password was refused at connect).
    #[error("{addr}: {source}")]
    Client {
        /// The address.
        addr: String,
        /// The cause.
        source: redis::RedisError,
    },
    /// No answer within the time limit.
    #[error("{addr}: no answer within {limit:?}")]
    Timeout {
        /// The address.
        addr: String,
        /// The limit.
        limit: Duration,
    },
    /// The reply does not have the shape the caller needs.
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

/// How a client reaches the processes: plain TCP, or TLS the way the gateway does it (the
/// server's certificate checked against a CA, its name checked against the address dialled, and
/// optionally a client certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP (`redis://`).
    #[default]
    Plain,
    /// TLS (`rediss://`).
    Tls {
        /// PEM of the CA to trust; `None` trusts only the system store (which never holds a test
        /// CA, so the server is refused).
        ca: Option<Vec<u8>>,
        /// PEM certificate and key presented to the server (mutual TLS).
        client: Option<(Vec<u8>, Vec<u8>)>,
    },
}

impl Transport {
    /// TLS trusting the CA at `ca` and presenting `client` (certificate, key) when given.
    pub fn tls_from_files(
        ca: Option<&std::path::Path>,
        client: Option<(&std::path::Path, &std::path::Path)>,
    ) -> std::io::Result<Transport> {
        Ok(Transport::Tls {
            ca: ca.map(std::fs::read).transpose()?,
            client: match client {
                Some((cert, key)) => Some((std::fs::read(cert)?, std::fs::read(key)?)),
                None => None,
            },
        })
    }

    fn client(&self, addr: &str, settings: RedisConnectionInfo) -> redis::RedisResult<Client> {
        let scheme = match self {
            Transport::Plain => "redis",
            Transport::Tls { .. } => "rediss",
        };
        let info = format!("{scheme}://{addr}")
            .into_connection_info()?
            .set_redis_settings(settings);
        match self {
            Transport::Plain => Client::open(info),
            Transport::Tls { ca, client } => {
                install_crypto_provider();
                Client::build_with_tls(
                    info,
                    TlsCertificates {
                        client_tls: client.as_ref().map(|(cert, key)| ClientTlsConfig {
                            client_cert: cert.clone(),
                            client_key: key.clone(),
                        }),
                        root_cert: ca.clone(),
                    },
                )
            }
        }
    }
}

/// rustls needs one process-wide crypto provider; ring is the one already in the build.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed one first; either serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// One connection to a Redis data node or Sentinel.
#[derive(Clone)]
pub struct Connection {
    addr: String,
    inner: MultiplexedConnection,
    limit: Duration,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to `host:port`; every later operation gets `limit`.
    pub async fn connect(addr: &str, limit: Duration) -> Result<Connection, RespError> {
        Connection::connect_auth(addr, None, limit).await
    }

    /// Connects and authenticates with `password` (when given), as user `default`.
    pub async fn connect_auth(
        addr: &str,
        password: Option<&str>,
        limit: Duration,
    ) -> Result<Connection, RespError> {
        Connection::connect_with(addr, password, &Transport::Plain, limit).await
    }

    /// Connects over `transport` and authenticates with `password` (when given), as `default`.
    pub async fn connect_with(
        addr: &str,
        password: Option<&str>,
        transport: &Transport,
        limit: Duration,
    ) -> Result<Connection, RespError> {
        Connection::connect_user_with(addr, None, password, transport, limit).await
    }

    /// Connects (plain TCP) and authenticates as ACL user `user` with `password`.
    pub async fn connect_user(
        addr: &str,
        user: Option<&str>,
        password: Option<&str>,
        limit: Duration,
    ) -> Result<Connection, RespError> {
        Connection::connect_user_with(addr, user, password, &Transport::Plain, limit).await
    }

    /// Connects over `transport` and authenticates as ACL user `user` (`default` when `None`)
    /// with `password`.
    pub async fn connect_user_with(
        addr: &str,
        user: Option<&str>,
        password: Option<&str>,
        transport: &Transport,
        limit: Duration,
    ) -> Result<Connection, RespError> {
        let client_error = |source| RespError::Client {
            addr: addr.into(),
            source,
        };
        let mut settings = RedisConnectionInfo::default().set_skip_set_lib_name();
        if let Some(password) = password {
            settings = settings.set_password(password);
        }
        if let Some(user) = user {
            settings = settings.set_username(user);
        }
        let client = transport.client(addr, settings).map_err(client_error)?;
        // The limits are tokio's (below), not the crate's.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(None)
            .set_response_timeout(None);
        let inner = match timeout(
            limit,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(source)) => return Err(client_error(source)),
            Err(_) => {
                return Err(RespError::Timeout {
                    addr: addr.into(),
                    limit,
                });
            }
        };
        Ok(Connection {
            addr: addr.into(),
            inner,
            limit,
        })
    }

    /// The address this connection goes to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends one command and reads its reply (an error reply is `Ok(Reply::Error)`).
    pub async fn command(&mut self, args: &[&str]) -> Result<Reply, RespError> {
        let mut cmd = redis::Cmd::new();
        for arg in args {
            cmd.arg(*arg);
        }
        match timeout(self.limit, self.inner.send_packed_command(&cmd)).await {
            Ok(Ok(value)) => Ok(Reply::from(value)),
            Ok(Err(source)) => Err(RespError::Client {
                addr: self.addr.clone(),
                source,
            }),
            Err(_) => Err(RespError::Timeout {
                addr: self.addr.clone(),
                limit: self.limit,
            }),
        }
    }

    /// Sends the commands as one `MULTI ... EXEC` transaction; the replies of the commands (the
    /// `EXEC` array), or the error reply that aborted the transaction (e.g. `NOREPLICAS`).
    pub async fn transaction(&mut self, commands: &[&[&str]]) -> Result<Reply, RespError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for args in commands {
            let mut cmd = redis::Cmd::new();
            for arg in *args {
                cmd.arg(*arg);
            }
            pipe.add_command(cmd);
        }
        // MULTI's and the commands' QUEUED replies are skipped; EXEC's array is the one read.
        let sent = self
            .inner
            .send_packed_commands(&pipe, commands.len() + 1, 1);
        match timeout(self.limit, sent).await {
            Ok(Ok(mut values)) => Ok(values.pop().map(Reply::from).unwrap_or(Reply::Array(None))),
            Ok(Err(source)) => match (source.kind(), source.code()) {
                // The server refused the transaction: a reply, not a broken connection.
                (redis::ErrorKind::Server(_) | redis::ErrorKind::Extension, Some(code)) => {
                    Ok(Reply::Error(match source.detail() {
                        Some(detail) => format!("{code} {detail}"),
                        None => code.to_string(),
                    }))
                }
                _ => Err(RespError::Client {
                    addr: self.addr.clone(),
                    source,
                }),
            },
            Err(_) => Err(RespError::Timeout {
                addr: self.addr.clone(),
                limit: self.limit,
            }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_map_to_the_resp2_shapes() {
        assert_eq!(Reply::from(Value::Okay), Reply::Simple("OK".into()));
        assert_eq!(Reply::from(Value::Int(3)), Reply::Integer(3));
        assert_eq!(Reply::from(Value::Nil), Reply::Bulk(None));
        assert_eq!(
            Reply::from(Value::Array(vec![Value::BulkString(b"a".to_vec())])),
            Reply::Array(Some(vec![Reply::Bulk(Some(b"a".to_vec()))]))
        );
        let refused = redis::parse_redis_value(b"-NOAUTH Authentication required.\r\n").unwrap();
        assert_eq!(
            Reply::from(refused),
            Reply::Error("NOAUTH Authentication required.".into())
        );
        assert_eq!(
            Reply::from(Value::BulkString(b"x".to_vec())).as_text(),
            Some("x".into())
        );
    }
}
