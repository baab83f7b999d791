//! TLS for PostgreSQL connections, through rustls (with ring, as reqwest uses it) and
//! tokio-postgres-rustls. The URL's `sslmode` and `sslrootcert` follow libpq:
//!
//! - `disable`: no TLS.
//! - `prefer`: TLS when the server offers it, its certificate not checked; else in clear.
//! - `require`: TLS or no connection; the certificate is not checked, unless `sslrootcert`
//!   is given (then as `verify-ca`, as libpq does).
//! - `verify-ca`: TLS with a certificate that chains to a trusted root.
//! - `verify-full`: as `verify-ca`, and the certificate names the host connected to.
//!
//! Without `sslmode`, a loopback host (`localhost`, `127.0.0.0/8`, `::1` or a Unix socket)
//! gets `prefer` and any other host `require`. The trusted roots are the file
//! `sslrootcert` names (PEM, one or more certificates), or Mozilla's (webpki-roots) when it is
//! absent or `system`.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How a connection uses TLS: libpq's `sslmode` values (`allow` aside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// The mode named `text`, or an error that lists the known ones.
    fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "unknown sslmode '{other}' in the database URL: use disable, prefer, \
                     require, verify-ca or verify-full"
                ))
            }
        })
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

/// The TLS part of a database URL, taken out of it (tokio-postgres knows neither `verify-*`
/// nor `sslrootcert`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TlsParams {
    /// `sslmode`, when the URL gives one.
    pub mode: Option<SslMode>,
    /// `sslrootcert`: a PEM file, or `system` for the default roots.
    pub root_cert: Option<String>,
}

/// Splits `url` into the URL without `sslmode` and `sslrootcert` (for tokio-postgres) and
/// those two.
pub(crate) fn split_url(url: &str) -> Result<(String, TlsParams), String> {
    let mut params = TlsParams {
        mode: None,
        root_cert: None,
    };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), params));
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => params.mode = Some(SslMode::parse(&percent_decode(value)?)?),
            "sslrootcert" => params.root_cert = Some(percent_decode(value)?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, params))
}

/// A URL query value with its `%XX` escapes (and `+`, a space) decoded.
fn percent_decode(value: &str) -> Result<String, String> {
    let bad = || format!("a bad %-escape in the database URL's query: {value}");
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
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
    String::from_utf8(out).map_err(|_| bad())
}

/// Whether every host of `config` is on this machine: a Unix socket, `localhost` or a
/// loopback address (and so is every `hostaddr`).
pub(crate) fn is_loopback(config: &tokio_postgres::Config) -> bool {
    let host_ok = |h: &Host| match h {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
    };
    config.get_hosts().iter().all(host_ok)
        && config.get_hostaddrs().iter().all(|ip| ip.is_loopback())
}

/// The mode a connection uses: the URL's, else `prefer` on loopback and `require` elsewhere.
/// `require` with a root certificate is `verify-ca`, as in libpq.
pub(crate) fn effective_mode(params: &TlsParams, loopback: bool) -> SslMode {
    match (params.mode, &params.root_cert) {
        (Some(SslMode::Require), Some(_)) => SslMode::VerifyCa,
        (Some(mode), _) => mode,
        (None, _) if loopback => SslMode::Prefer,
        (None, _) => SslMode::Require,
    }
}

/// What tokio-postgres is told: it only knows whether TLS is off, optional or required.
pub(crate) fn pg_mode(mode: SslMode) -> PgSslMode {
    match mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
    }
}

/// The TLS connector for `mode`, trusting `root_cert` (a PEM file, or `system`) or else
/// Mozilla's roots.
pub(crate) fn connector(
    mode: SslMode,
    root_cert: Option<&str>,
) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(AnyCertificate {
            provider: Arc::clone(&provider),
        }),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = Arc::new(roots(root_cert)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| format!("TLS roots: {e}"))?;
            if mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(AnyName(webpki))
            }
        }
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The roots `verify-ca` and `verify-full` trust.
fn roots(root_cert: Option<&str>) -> Result<RootCertStore, String> {
    let path = match root_cert {
        None | Some("system") => {
            return Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
        }
        Some(path) => path,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("sslrootcert {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("sslrootcert {path}: no PEM certificate in it"));
    }
    let mut store = RootCertStore::empty();
    for cert in certs {
        store
            .add(cert)
            .map_err(|e| format!("sslrootcert {path}: {e}"))?;
    }
    Ok(store)
}

/// `prefer` and `require`: any certificate (libpq checks none either), though the handshake's
/// signatures are still checked against it.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `verify-ca`: the chain is checked (first, by webpki), the name is not.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn params(url: &str) -> TlsParams {
        split_url(url).unwrap().1
    }

    fn mode_for(url: &str) -> SslMode {
        let (rest, params) = split_url(url).unwrap();
        let config = tokio_postgres::Config::from_str(&rest).unwrap();
        effective_mode(&params, is_loopback(&config))
    }

    #[test]
    fn tls_parameters_leave_the_url() {
        let (rest, p) = split_url(
            "postgres://u:p@db/x?sslmode=verify-full&connect_timeout=5&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u:p@db/x?connect_timeout=5");
        assert_eq!(p.mode, Some(SslMode::VerifyFull));
        assert_eq!(p.root_cert.as_deref(), Some("/etc/ca.pem"));
        let (rest, p) = split_url("postgres://db/x?sslmode=disable").unwrap();
        assert_eq!(rest, "postgres://db/x");
        assert_eq!(p.mode, Some(SslMode::Disable));
        let (rest, p) = split_url("postgres://db/x").unwrap();
        assert_eq!(rest, "postgres://db/x");
        assert_eq!(
            p,
            TlsParams {
                mode: None,
                root_cert: None
            }
        );
        // What is left parses.
        for url in [
            "postgres://db/x?sslmode=verify-ca&application_name=a",
            "postgres://db/x?sslrootcert=a.pem",
        ] {
            let (rest, _) = split_url(url).unwrap();
            tokio_postgres::Config::from_str(&rest).unwrap();
        }
    }

    #[test]
    fn every_sslmode_is_known_and_others_refused() {
        for (text, mode) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            assert_eq!(
                params(&format!("postgres://db/x?sslmode={text}")).mode,
                Some(mode)
            );
            assert_eq!(mode.to_string(), text);
        }
        let e = split_url("postgres://db/x?sslmode=verify_full").unwrap_err();
        assert!(e.contains("unknown sslmode 'verify_full'"), "{e}");
        assert!(e.contains("verify-full"), "{e}");
        assert!(split_url("postgres://db/x?sslmode=").is_err());
        assert!(split_url("postgres://db/x?sslrootcert=%zz").is_err());
    }

    #[test]
    fn remote_hosts_require_tls_by_default() {
        assert_eq!(mode_for("postgres://u@db.example.com/x"), SslMode::Require);
        assert_eq!(mode_for("postgres://u@10.0.0.5:5432/x"), SslMode::Require);
        assert_eq!(mode_for("postgres://u@[2001:db8::1]/x"), SslMode::Require);
        // One remote host among several is enough.
        assert_eq!(
            mode_for("postgres://u@localhost,db.example.com/x"),
            SslMode::Require
        );
        assert_eq!(
            mode_for("postgres://u@localhost/x?hostaddr=10.0.0.5"),
            SslMode::Require
        );
    }

    #[test]
    fn loopback_hosts_prefer_tls_by_default() {
        assert_eq!(mode_for("postgres://u@localhost/x"), SslMode::Prefer);
        assert_eq!(mode_for("postgres://u@LOCALHOST:5433/x"), SslMode::Prefer);
        assert_eq!(mode_for("postgres://u@127.0.0.1:5432/x"), SslMode::Prefer);
        assert_eq!(mode_for("postgres://u@127.1.2.3/x"), SslMode::Prefer);
        assert_eq!(mode_for("postgres://u@[::1]:5432/x"), SslMode::Prefer);
        assert_eq!(
            mode_for("postgres://u@%2Frun%2Fpostgresql/x"),
            SslMode::Prefer
        );
    }

    #[test]
    fn the_url_decides_over_the_default() {
        assert_eq!(
            mode_for("postgres://u@db.example.com/x?sslmode=disable"),
            SslMode::Disable
        );
        assert_eq!(
            mode_for("postgres://u@127.0.0.1/x?sslmode=require"),
            SslMode::Require
        );
        assert_eq!(
            mode_for("postgres://u@127.0.0.1/x?sslmode=verify-full"),
            SslMode::VerifyFull
        );
        // libpq: require with a root certificate checks the chain.
        assert_eq!(
            mode_for("postgres://u@db.example.com/x?sslmode=require&sslrootcert=ca.pem"),
            SslMode::VerifyCa
        );
        assert_eq!(
            mode_for("postgres://u@db.example.com/x?sslrootcert=ca.pem"),
            SslMode::Require
        );
    }

    #[test]
    fn tokio_postgres_is_told_whether_tls_is_required() {
        assert_eq!(pg_mode(SslMode::Disable), PgSslMode::Disable);
        assert_eq!(pg_mode(SslMode::Prefer), PgSslMode::Prefer);
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            assert_eq!(pg_mode(mode), PgSslMode::Require);
        }
    }

    #[test]
    fn root_certificates_must_be_readable_pem() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem").display().to_string();
        let e = connector(SslMode::VerifyFull, Some(&missing))
            .err()
            .unwrap();
        assert!(e.starts_with(&format!("sslrootcert {missing}:")), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let empty = empty.display().to_string();
        let e = connector(SslMode::VerifyCa, Some(&empty)).err().unwrap();
        assert_eq!(e, format!("sslrootcert {empty}: no PEM certificate in it"));
        // Mozilla's roots, and no file at all for the unverified modes.
        assert!(connector(SslMode::VerifyFull, Some("system")).is_ok());
        assert!(connector(SslMode::VerifyFull, None).is_ok());
        assert!(connector(SslMode::Require, None).is_ok());
    }
}
