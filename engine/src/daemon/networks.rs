//! `docker network …` (`/networks`): the same host-wide networks as
//! `casulo network`, by the same calls, in docker's shapes.
//!
//! docker's three built-in names map to casulo's modes: `bridge` is
//! casulo's default network (`casulo0`, 10.88.0.0/16, no DNS between
//! containers — as docker's default bridge); `none` is casulo's default
//! mode (only `lo`), shown as docker's `null` driver; `host` does not
//! exist in casulo (a container always has a network namespace of its
//! own), and is said so.

use hyper::StatusCode;
use serde_json::{json, Value};

use super::http::{ApiError, Query, Reply};
use super::Ctx;
use crate::container::connect::Done;
use crate::kernel::{Kernel, LinuxSyscalls};
use crate::network::connect as joining;
use crate::network::{self, networks, NetDir, NetworkError};
use crate::recorder::Recorder;

/// The id shown for `none` (casulo keeps no record of it).
fn none_id() -> String {
    crate::image::digest::sha256(b"casulo network none")
        .trim_start_matches("sha256:")
        .to_string()
}

/// A network in the shape `docker network ls/inspect` decode.
fn docker_shape(net: &NetDir, n: &networks::Network) -> Value {
    let mut v = network::inspect::inspect(net, n);
    if v["Created"].as_str().is_none_or(str::is_empty) {
        // The CLI decodes a time: the default network has none.
        v["Created"] = json!("0001-01-01T00:00:00Z");
    }
    v["Scope"] = json!("local");
    v["EnableIPv6"] = json!(false);
    v["Internal"] = json!(false);
    v["Attachable"] = json!(false);
    v["Ingress"] = json!(false);
    v["ConfigOnly"] = json!(false);
    v["ConfigFrom"] = json!({ "Network": "" });
    v["Labels"] = json!({});
    v["IPAM"]["Driver"] = json!("default");
    v["IPAM"]["Options"] = Value::Null;
    v
}

fn none_shape() -> Value {
    json!({
        "Name": "none", "Id": none_id(), "Created": "0001-01-01T00:00:00Z",
        "Scope": "local", "Driver": "null", "EnableIPv6": false,
        "IPAM": { "Driver": "default", "Options": null, "Config": [] },
        "Internal": false, "Attachable": false, "Ingress": false,
        "ConfigFrom": { "Network": "" }, "ConfigOnly": false,
        "Containers": {}, "Options": {}, "Labels": {},
        "Casulo": { "DNS": false },
    })
}

fn api_error(e: NetworkError) -> ApiError {
    let status = match &e {
        NetworkError::NoSuchNetwork(_) => StatusCode::NOT_FOUND,
        NetworkError::NetworkExists(_)
        | NetworkError::NetworkInUse { .. }
        | NetworkError::DefaultNetwork
        | NetworkError::SubnetOverlap { .. }
        | NetworkError::AddressTaken { .. } => StatusCode::CONFLICT,
        NetworkError::BadNetworkName(_)
        | NetworkError::BadSubnet(_)
        | NetworkError::AddressOutside { .. }
        | NetworkError::UserNetworkOnly => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, super::http::chain(&e))
}

fn host_refused() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "a rede host não existe no casulo: todo contêiner tem o seu próprio namespace de rede \
         (use bridge, none ou uma rede criada com docker network create)",
    )
}

/// `docker network ls`: bridge, none, then the user networks.
pub fn list(_ctx: &Ctx, query: &Query) -> Result<Reply, ApiError> {
    let net = NetDir::host();
    let mut out: Vec<Value> = net
        .networks()
        .list()
        .iter()
        .map(|n| docker_shape(&net, n))
        .collect();
    out.insert(1.min(out.len()), none_shape());
    // `docker network ls -f name=…` / `id=…` (others are refused).
    for (key, wanted) in super::http::filters(query.get("filters"))? {
        let field = match key.as_str() {
            "name" => "Name",
            "id" => "Id",
            "driver" => "Driver",
            other => {
                return Err(ApiError::not_implemented(&format!(
                    "o filtro {other} de GET /networks"
                )))
            }
        };
        out.retain(|n| {
            let have = n[field].as_str().unwrap_or_default();
            wanted.iter().any(|w| have.contains(w.as_str()))
        });
    }
    Ok(Reply::Json(StatusCode::OK, Value::Array(out)))
}

pub fn inspect(_ctx: &Ctx, key: &str) -> Result<Reply, ApiError> {
    match key {
        "host" => return Err(host_refused()),
        "none" => return Ok(Reply::Json(StatusCode::OK, none_shape())),
        k if k.len() >= 3 && none_id().starts_with(k) => {
            return Ok(Reply::Json(StatusCode::OK, none_shape()))
        }
        _ => {}
    }
    let net = NetDir::host();
    let n = net.networks().find(key).map_err(api_error)?;
    Ok(Reply::Json(StatusCode::OK, docker_shape(&net, &n)))
}

/// `docker network create [--subnet] [--gateway] NAME` (driver bridge).
pub fn create(_ctx: &Ctx, body: &[u8]) -> Result<Reply, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("o corpo não é JSON: {e}")))?;
    let name = v["Name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("falta o Name da rede"))?;
    if let Some(driver) = v["Driver"]
        .as_str()
        .filter(|d| !d.is_empty() && *d != "bridge")
    {
        return Err(ApiError::not_implemented(&format!(
            "o driver de rede {driver} (só bridge)"
        )));
    }
    for flag in [
        "Internal",
        "EnableIPv6",
        "Attachable",
        "Ingress",
        "ConfigOnly",
    ] {
        if v[flag].as_bool() == Some(true) {
            return Err(ApiError::not_implemented(&format!("{flag} numa rede")));
        }
    }
    let config = v["IPAM"]["Config"].as_array().cloned().unwrap_or_default();
    if config.len() > 1 {
        return Err(ApiError::not_implemented("mais de uma sub-rede numa rede"));
    }
    let first = config.first().cloned().unwrap_or(Value::Null);
    let subnet = first["Subnet"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(networks::parse_subnet)
        .transpose()
        .map_err(api_error)?;
    let gateway = match first["Gateway"].as_str().filter(|s| !s.is_empty()) {
        Some(g) => Some(g.parse().map_err(|_| {
            ApiError::bad_request(format!("IPAM.Config.Gateway {g:?} não é um IPv4"))
        })?),
        None => None,
    };
    let rec = Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &rec);
    let id = crate::container::new_id();
    let n = network::create(&k, &NetDir::host(), name, subnet, gateway, &id).map_err(api_error)?;
    Ok(Reply::Json(
        StatusCode::CREATED,
        json!({ "Id": n.id, "Warning": "" }),
    ))
}

pub fn remove(_ctx: &Ctx, key: &str) -> Result<Reply, ApiError> {
    if matches!(key, "none" | "host") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{key} é um modo de rede do casulo, não uma rede que se remove"),
        ));
    }
    let rec = Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &rec);
    network::remove(&k, &NetDir::host(), key).map_err(api_error)?;
    failed(&rec)?;
    Ok(Reply::Status(StatusCode::NO_CONTENT))
}

/// Kernel operations that failed on the way (the CLI says them too).
fn failed(rec: &Recorder) -> Result<(), ApiError> {
    let failed = rec.failed_ops();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("não consegui: {}", failed.join("; ")),
        ))
    }
}

/// `docker network prune`: every user network no running container uses.
pub fn prune(_ctx: &Ctx) -> Result<Reply, ApiError> {
    let net = NetDir::host();
    let rec = Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &rec);
    let mut deleted = Vec::new();
    for n in net.networks().list() {
        if n.is_default() || !network::users(&net, &n.name).is_empty() {
            continue;
        }
        if network::remove(&k, &net, &n.name).is_ok() {
            deleted.push(n.name);
        }
    }
    Ok(Reply::Json(
        StatusCode::OK,
        json!({ "NetworksDeleted": deleted }),
    ))
}

/// `docker network connect [--ip] [--alias] NET CONTAINER`.
pub fn connect(ctx: &Ctx, key: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("o corpo não é JSON: {e}")))?;
    let who = v["Container"]
        .as_str()
        .ok_or_else(|| ApiError::bad_request("falta o Container"))?;
    let endpoint = &v["EndpointConfig"];
    let ip = match endpoint["IPAMConfig"]["IPv4Address"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        Some(ip) => Some(
            ip.parse()
                .map_err(|_| ApiError::bad_request(format!("IPv4Address {ip:?} não é um IPv4")))?,
        ),
        None => None,
    };
    let aliases: Vec<String> = endpoint["Aliases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(String::from))
        .collect();
    if key == "host" {
        return Err(host_refused());
    }
    let record = crate::container::find(&ctx.state, who)?;
    let request = joining::Request {
        ip,
        aliases: &aliases,
    };
    let _: Done = crate::container::connect::connect(&ctx.state, &record, key, &request)?;
    Ok(Reply::Status(StatusCode::OK))
}

/// `docker network disconnect NET CONTAINER`.
pub fn disconnect(ctx: &Ctx, key: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("o corpo não é JSON: {e}")))?;
    let who = v["Container"]
        .as_str()
        .ok_or_else(|| ApiError::bad_request("falta o Container"))?;
    let record = crate::container::find(&ctx.state, who)?;
    let _: Done = crate::container::connect::disconnect(&ctx.state, &record, key)?;
    Ok(Reply::Status(StatusCode::OK))
}
