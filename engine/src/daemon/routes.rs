//! Which handler answers which request: docker's paths, with or without
//! the version prefix the client puts in front (`/v1.43/containers/json`).

use hyper::{Method, StatusCode};

use super::http::{ApiError, Query, Reply, API_VERSION, MIN_API_VERSION};
use super::upload::Upload;
use super::{
    archive, attach, build, containers, create, events, exec, images, live, networks, prune,
    registry, stats, system, traces, volumes, Ctx,
};

/// One request, already read: answered here, off the async threads (the
/// engine's calls block).
pub fn route(
    ctx: &std::sync::Arc<Ctx>,
    method: &Method,
    path: &str,
    query: &Query,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let path = strip_version(path)?;
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let m = method.clone();
    let get = m == Method::GET || m == Method::HEAD;
    let post = m == Method::POST;
    match parts.as_slice() {
        ["_ping"] if get => Ok(Reply::Text("OK")),
        ["version"] if get => Ok(system::version()),
        ["info"] if get => Ok(system::info(ctx)),
        ["events"] if get => events::events(ctx, query),
        ["images", "json"] if get => images::list(ctx),
        ["images", name @ .., "json"] if get && !name.is_empty() => {
            images::inspect(ctx, &name.join("/"))
        }
        // Images (tag, history, rmi, prune, save), pull/push, networks.
        ["images", "prune"] if post => images::prune(ctx, query),
        ["images", "get"] if get => archive::save(
            ctx,
            &query
                .all("names")
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>(),
        ),
        ["images", name @ .., "get"] if get && !name.is_empty() => {
            archive::save(ctx, &[name.join("/")])
        }
        ["auth"] if post => registry::login(ctx, body),
        ["images", "create"] if post => registry::pull(ctx, query),
        ["images", name @ .., "push"] if post && !name.is_empty() => {
            registry::push(ctx, &name.join("/"), query)
        }
        ["images", name @ .., "tag"] if post && !name.is_empty() => {
            images::tag(ctx, &name.join("/"), query)
        }
        ["images", name @ .., "history"] if get && !name.is_empty() => {
            images::history(ctx, &name.join("/"))
        }
        ["images", name @ ..] if m == Method::DELETE && !name.is_empty() => {
            images::remove(ctx, &name.join("/"), query)
        }
        ["networks"] if get => networks::list(ctx, query),
        ["networks", "create"] if post => networks::create(ctx, body),
        ["networks", "prune"] if post => networks::prune(ctx),
        ["networks", id] if get => networks::inspect(ctx, id),
        ["networks", id] if m == Method::DELETE => networks::remove(ctx, id),
        ["networks", id, "connect"] if post => networks::connect(ctx, id, body),
        ["networks", id, "disconnect"] if post => networks::disconnect(ctx, id, body),
        ["volumes"] if get => volumes::list(ctx, query),
        ["volumes", "create"] if post => volumes::create(ctx, body),
        ["volumes", name] if get => volumes::inspect(ctx, name),
        ["volumes", name] if m == Method::DELETE => volumes::remove(ctx, name, query),
        ["containers", "json"] if get => containers::list(ctx, query),
        ["containers", "create"] if post => create::create(ctx, query, body),
        ["containers", id, "json"] if get => containers::inspect(ctx, id),
        ["containers", id, "logs"] if get => containers::logs(ctx, id, query),
        ["containers", id, "start"] if post => containers::start(ctx, id),
        ["containers", id, "stop"] if post => containers::stop(ctx, id, query),
        ["containers", id, "restart"] if post => containers::restart(ctx, id, query),
        ["containers", id, "kill"] if post => containers::kill(ctx, id, query),
        ["containers", id, "wait"] if post => containers::wait(ctx, id, query),
        ["containers", id, "attach"] if post => containers::attach(ctx, id, query),
        ["containers", id, "pause"] if post => containers::pause(ctx, id, true),
        ["containers", id, "unpause"] if post => containers::pause(ctx, id, false),
        ["containers", id, "rename"] if post => containers::rename(ctx, id, query),
        ["containers", id, "top"] if get => containers::top(ctx, id, query),
        ["containers", id, "exec"] if post => exec::create(ctx, id, body),
        ["exec", id, "start"] if post => exec::start(ctx, id, body),
        ["exec", id, "json"] if get => exec::inspect(ctx, id),
        ["containers", id] if m == Method::DELETE => containers::remove(ctx, id, query),
        // The interactive half: resize, stats, prune.
        ["containers", id, "resize"] if post => attach::resize(ctx, id, query),
        ["exec", id, "resize"] if post => exec::resize(ctx, id, query),
        ["containers", id, "stats"] if get => stats::stats(ctx, id, query),
        ["containers", "prune"] if post => prune::containers(ctx, query),
        ["volumes", "prune"] if post => prune::volumes(ctx, query),
        ["casulo", ..] => casulo(ctx, &m, &parts[1..]),
        // BuildKit's two doors (buildx dials them when it is installed):
        // named, with the way around, rather than a bare "not implemented".
        [door @ ("session" | "grpc")] if post => Err(ApiError::not_implemented(&format!(
            "POST /{door}, a porta do BuildKit (o docker com o plugin buildx \
             constrói por ela): use DOCKER_BUILDKIT=0 docker build …, que usa o \
             POST /build clássico"
        ))),
        _ => Err(ApiError::not_implemented(&format!("{method} {path}"))),
    }
}

/// The requests whose body is a tar received into a file (see
/// [`super::upload::takes_tar`]).
pub fn route_tar(
    ctx: &std::sync::Arc<Ctx>,
    path: &str,
    query: &Query,
    tar: Upload,
) -> Result<Reply, ApiError> {
    match strip_version(path)?.trim_matches('/') {
        "images/load" => archive::load(ctx, tar),
        "images/create" => archive::import(ctx, query, tar),
        "build" => build::build(ctx, query, tar),
        other => Err(ApiError::not_implemented(&format!("POST /{other}"))),
    }
}

/// casulo's own paths (not docker's): the traces, read-only, and the live
/// view. The `--ui` listener answers these and nothing else of the API.
pub fn casulo(ctx: &Ctx, method: &Method, parts: &[&str]) -> Result<Reply, ApiError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} /casulo/…: os caminhos /casulo/ só se leem (use GET)"),
        ));
    }
    match parts {
        ["traces"] => traces::list_reply(ctx),
        ["traces", key] => traces::get_reply(ctx, key),
        ["live", key] => live::live(ctx, key),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "/casulo/{} não existe: há /casulo/traces, /casulo/traces/ID e /casulo/live/ID",
                parts.join("/")
            ),
        )),
    }
}

/// `/v1.43/…` → `/…`; a version newer than ours is refused (as dockerd
/// does: the CLI negotiates after `/_ping` and never sends one).
fn strip_version(path: &str) -> Result<&str, ApiError> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok(path);
    };
    let (version, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Some(asked) = parse_version(version) else {
        return Ok(path);
    };
    let (ours, oldest) = (
        parse_version(API_VERSION).expect("ours parses"),
        parse_version(MIN_API_VERSION).expect("ours parses"),
    );
    if asked > ours {
        return Err(ApiError::bad_request(format!(
            "o cliente pediu a versão {version} da API, mais nova que a do casulo daemon \
             ({API_VERSION}); o docker CLI negocia sozinho — com outro cliente, use /v{API_VERSION}/"
        )));
    }
    if asked < oldest {
        return Err(ApiError::bad_request(format!(
            "a versão {version} da API é antiga demais: o casulo daemon atende de \
             {MIN_API_VERSION} a {API_VERSION}"
        )));
    }
    Ok(tail)
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The status a reply is logged with.
pub fn status_of(reply: &Result<Reply, ApiError>) -> StatusCode {
    match reply {
        Ok(Reply::Json(s, _)) | Ok(Reply::Status(s)) => *s,
        Ok(Reply::Text(_)) | Ok(Reply::Stream { .. }) => StatusCode::OK,
        Ok(Reply::Hijack { .. }) => StatusCode::SWITCHING_PROTOCOLS,
        Err(e) => e.status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_versions_in_the_path_are_checked() {
        assert_eq!(strip_version("/v1.43/info").unwrap(), "/info");
        assert_eq!(strip_version("/v1.24/info").unwrap(), "/info");
        assert_eq!(strip_version("/info").unwrap(), "/info");
        assert_eq!(strip_version("/volumes").unwrap(), "/volumes");
        let e = strip_version("/v1.50/info").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("1.43"), "{}", e.message);
        assert!(strip_version("/v1.12/info").is_err());
    }
}
