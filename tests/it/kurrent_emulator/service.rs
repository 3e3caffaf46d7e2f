//! The emulator's gRPC service implementations.

use std::sync::{Arc, RwLock};

use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::proto::event_store::client as pb;
use super::{EmulatorData, StoredEvent};
use pb::gossip::gossip_server::{Gossip, GossipServer};
use pb::persistent_subscriptions::persistent_subscriptions_server::{
    PersistentSubscriptions, PersistentSubscriptionsServer,
};
use pb::projections::projections_server::{Projections, ProjectionsServer};
use pb::server_features::server_features_server::{ServerFeatures, ServerFeaturesServer};
use pb::streams::read_req::options as read_options;
use pb::streams::streams_server::{Streams, StreamsServer};

type Shared = Arc<RwLock<EmulatorData>>;

#[derive(Clone)]
struct Node {
    data: Shared,
    port: u16,
}

/// All services on one router.
pub fn router(data: Shared, port: u16) -> tonic::transport::server::Router {
    let node = Node { data, port };
    tonic::transport::Server::builder()
        .add_service(ServerFeaturesServer::new(node.clone()))
        .add_service(GossipServer::new(node.clone()))
        .add_service(StreamsServer::new(node.clone()))
        .add_service(ProjectionsServer::new(node.clone()))
        .add_service(PersistentSubscriptionsServer::new(node))
}

fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Node {
    fn check_auth<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let data = self.data.read().unwrap();
        let Some((user, password)) = &data.credentials else {
            return Ok(());
        };
        let expected = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
        let given = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if given == Some(expected.as_str()) {
            Ok(())
        } else {
            Err(Status::unauthenticated("Bad username or password"))
        }
    }

    /// Streams `items` with the configured per-message delay.
    fn send<T: Send + 'static>(&self, items: Vec<T>) -> ReceiverStream<Result<T, Status>> {
        let delay = self.data.read().unwrap().delay;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            for item in items {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                if tx.send(Ok(item)).await.is_err() {
                    return;
                }
            }
        });
        ReceiverStream::new(rx)
    }
}

fn uuid_of(id: [u8; 16], structured: bool) -> pb::Uuid {
    let value = if structured {
        pb::uuid::Value::Structured(pb::uuid::Structured {
            most_significant_bits: i64::from_be_bytes(id[..8].try_into().unwrap()),
            least_significant_bits: i64::from_be_bytes(id[8..].try_into().unwrap()),
        })
    } else {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        pb::uuid::Value::String(format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        ))
    };
    pb::Uuid { value: Some(value) }
}

/// A read response; with `resolve`, a link event carries the event it points to (as a real
/// server does for `resolveLinkTos`), and an unresolvable link comes back as it is.
fn read_response(
    data: &EmulatorData,
    event: &StoredEvent,
    structured: bool,
    resolve: bool,
) -> pb::streams::ReadResp {
    use pb::streams::read_resp::{Content, ReadEvent};
    let mut response = read_event(event, structured);
    if resolve && let Some(target) = data.resolve_link(event) {
        let Some(Content::Event(ReadEvent {
            event: link,
            position,
            ..
        })) = response.content
        else {
            unreachable!("read_event builds an event")
        };
        let Some(Content::Event(resolved)) = read_event(target, structured).content else {
            unreachable!("read_event builds an event")
        };
        // The response's position stays the link's (the event read), as on a real server.
        response.content = Some(Content::Event(ReadEvent {
            event: resolved.event,
            link,
            position,
        }));
    }
    response
}

fn read_event(event: &StoredEvent, structured: bool) -> pb::streams::ReadResp {
    use pb::streams::read_resp::{Content, ReadEvent, read_event};
    let mut metadata = std::collections::HashMap::new();
    metadata.insert("type".to_owned(), event.event_type.clone());
    let content_type = if event.is_json {
        "application/json"
    } else {
        "application/octet-stream"
    };
    metadata.insert("content-type".to_owned(), content_type.to_owned());
    // .NET ticks (100 ns) since the Unix epoch.
    metadata.insert(
        "created".to_owned(),
        (event.created_secs * 10_000_000).to_string(),
    );
    pb::streams::ReadResp {
        content: Some(Content::Event(ReadEvent {
            event: Some(read_event::RecordedEvent {
                id: Some(uuid_of(event.id, structured)),
                stream_identifier: Some(pb::StreamIdentifier {
                    stream_name: event.stream.clone().into_bytes(),
                }),
                stream_revision: event.revision,
                prepare_position: event.position,
                commit_position: event.position,
                metadata,
                custom_metadata: event.custom_metadata.clone(),
                data: event.data.clone(),
            }),
            link: None,
            position: Some(read_event::Position::CommitPosition(event.position)),
        })),
    }
}

/// A request's filter, with its regex compiled once.
struct Filter {
    on_stream: bool,
    regex: Option<regex::Regex>,
    prefixes: Vec<String>,
}

impl Filter {
    fn new(options: Option<&read_options::FilterOptions>) -> Result<Option<Self>, Status> {
        use read_options::filter_options::Filter as Kind;
        let Some((on_stream, expression)) =
            options.and_then(|f| f.filter.as_ref()).map(|f| match f {
                Kind::StreamIdentifier(e) => (true, e),
                Kind::EventType(e) => (false, e),
            })
        else {
            return Ok(None);
        };
        let regex = if expression.regex.is_empty() {
            None
        } else {
            Some(
                regex::Regex::new(&expression.regex)
                    .map_err(|err| Status::invalid_argument(err.to_string()))?,
            )
        };
        Ok(Some(Self {
            on_stream,
            regex,
            prefixes: expression.prefix.clone(),
        }))
    }

    fn matches(&self, event: &StoredEvent) -> bool {
        let text = if self.on_stream {
            &event.stream
        } else {
            &event.event_type
        };
        match &self.regex {
            Some(regex) => regex.is_match(text),
            None => {
                self.prefixes.is_empty()
                    || self.prefixes.iter().any(|p| text.starts_with(p.as_str()))
            }
        }
    }
}

#[tonic::async_trait]
impl ServerFeatures for Node {
    async fn get_supported_methods(
        &self,
        request: Request<pb::Empty>,
    ) -> Result<Response<pb::server_features::SupportedMethods>, Status> {
        // Like a real node, server features and gossip need no credentials.
        drop(request);
        let method =
            |service: &str, name: &str, features: &[&str]| pb::server_features::SupportedMethod {
                method_name: name.to_owned(),
                service_name: service.to_owned(),
                features: features.iter().map(|f| (*f).to_owned()).collect(),
            };
        let persistent = "event_store.client.persistent_subscriptions.persistentsubscriptions";
        Ok(Response::new(pb::server_features::SupportedMethods {
            methods: vec![
                method("event_store.client.streams.streams", "read", &[]),
                // A real node advertises the whole management set; the client checks for all
                // of it before it uses gRPC instead of HTTP. Only list and getinfo are served.
                method(persistent, "create", &["stream", "all"]),
                method(persistent, "list", &["stream", "all"]),
                method(persistent, "getinfo", &["stream", "all"]),
                method(persistent, "replayparked", &[]),
                method(persistent, "restartsubsystem", &[]),
                method(
                    "event_store.client.projections.projections",
                    "statistics",
                    &[],
                ),
                method("event_store.client.gossip.gossip", "read", &[]),
            ],
            event_store_server_version: "24.10.0".to_owned(),
        }))
    }
}

#[tonic::async_trait]
impl Gossip for Node {
    async fn read(
        &self,
        request: Request<pb::Empty>,
    ) -> Result<Response<pb::gossip::ClusterInfo>, Status> {
        use pb::gossip::member_info::VNodeState;
        let data = self.data.read().unwrap();
        drop(request);
        let members = if data.gossip.is_empty() {
            vec![super::GossipMember {
                port: self.port,
                leader: true,
            }]
        } else {
            data.gossip.clone()
        };
        Ok(Response::new(pb::gossip::ClusterInfo {
            members: members
                .iter()
                .map(|member| pb::gossip::MemberInfo {
                    instance_id: Some(uuid_of(
                        {
                            let mut id = [0x11u8; 16];
                            id[14..].copy_from_slice(&member.port.to_be_bytes());
                            id
                        },
                        true,
                    )),
                    time_stamp: 0,
                    state: if member.leader {
                        VNodeState::Leader as i32
                    } else {
                        VNodeState::Follower as i32
                    },
                    is_alive: true,
                    http_end_point: Some(pb::gossip::EndPoint {
                        address: "127.0.0.1".to_owned(),
                        port: u32::from(member.port),
                    }),
                })
                .collect(),
        }))
    }
}

#[tonic::async_trait]
impl Streams for Node {
    type ReadStream = ReceiverStream<Result<pb::streams::ReadResp, Status>>;

    async fn read(
        &self,
        request: Request<pb::streams::ReadReq>,
    ) -> Result<Response<Self::ReadStream>, Status> {
        use read_options::all_options::AllOption;
        use read_options::stream_options::RevisionOption;
        use read_options::{CountOption, FilterOption, StreamOption};
        self.check_auth(&request)?;
        let options = request
            .into_inner()
            .options
            .ok_or_else(|| Status::invalid_argument("no options"))?;
        let resolve = options.resolve_links;
        let backwards = options.read_direction == read_options::ReadDirection::Backwards as i32;
        let count = match options.count_option {
            Some(CountOption::Count(count)) => usize::try_from(count).unwrap_or(usize::MAX),
            Some(CountOption::Subscription(_)) => {
                return Err(Status::unimplemented(
                    "the emulator serves no subscriptions",
                ));
            }
            None => usize::MAX,
        };
        let filter = Filter::new(match &options.filter_option {
            Some(FilterOption::Filter(filter)) => Some(filter),
            _ => None,
        })?;
        let structured = matches!(
            options
                .uuid_option
                .as_ref()
                .and_then(|u| u.content.as_ref()),
            Some(read_options::uuid_option::Content::Structured(_))
        );
        let data = self.data.read().unwrap();
        let responses: Vec<pb::streams::ReadResp> = match &options.stream_option {
            Some(StreamOption::Stream(stream)) => {
                let identifier = stream
                    .stream_identifier
                    .as_ref()
                    .ok_or_else(|| Status::invalid_argument("no stream"))?;
                let name = String::from_utf8_lossy(&identifier.stream_name).into_owned();
                let events: Vec<&StoredEvent> =
                    data.events.iter().filter(|e| e.stream == name).collect();
                if events.is_empty() {
                    vec![pb::streams::ReadResp {
                        content: Some(pb::streams::read_resp::Content::StreamNotFound(
                            pb::streams::read_resp::StreamNotFound {
                                stream_identifier: Some(identifier.clone()),
                            },
                        )),
                    }]
                } else {
                    let from = match stream.revision_option {
                        Some(RevisionOption::Revision(revision)) => revision,
                        Some(RevisionOption::End(_)) => u64::MAX,
                        Some(RevisionOption::Start(_)) | None => 0,
                    };
                    let selected: Vec<&StoredEvent> = if backwards {
                        events
                            .into_iter()
                            .rev()
                            .filter(|e| e.revision <= from)
                            .collect()
                    } else {
                        events.into_iter().filter(|e| e.revision >= from).collect()
                    };
                    selected
                        .into_iter()
                        .take(count)
                        .map(|e| read_response(&data, e, structured, resolve))
                        .collect()
                }
            }
            Some(StreamOption::All(all)) => {
                let events = &data.events;
                let at = |position: u64| events.partition_point(|e| e.position < position);
                let iter: Box<dyn Iterator<Item = &StoredEvent>> =
                    match (&all.all_option, backwards) {
                        (Some(AllOption::Position(p)), false) => {
                            Box::new(events[at(p.commit_position)..].iter())
                        }
                        (Some(AllOption::Position(p)), true) => {
                            Box::new(events[..at(p.commit_position)].iter().rev())
                        }
                        (Some(AllOption::End(_)), false)
                        | (Some(AllOption::Start(_)) | None, true) => Box::new(std::iter::empty()),
                        (Some(AllOption::End(_)), true) => Box::new(events.iter().rev()),
                        (Some(AllOption::Start(_)) | None, false) => Box::new(events.iter()),
                    };
                iter.filter(|e| filter.as_ref().is_none_or(|f| f.matches(e)))
                    .take(count)
                    .map(|e| read_response(&data, e, structured, resolve))
                    .collect()
            }
            None => return Err(Status::invalid_argument("no stream option")),
        };
        drop(data);
        Ok(Response::new(self.send(responses)))
    }
}

#[tonic::async_trait]
impl Projections for Node {
    type StatisticsStream = ReceiverStream<Result<pb::projections::StatisticsResp, Status>>;

    async fn statistics(
        &self,
        request: Request<pb::projections::StatisticsReq>,
    ) -> Result<Response<Self::StatisticsStream>, Status> {
        use pb::projections::statistics_req::options::Mode;
        self.check_auth(&request)?;
        let mode = request.into_inner().options.and_then(|o| o.mode);
        let data = self.data.read().unwrap();
        let selected: Vec<_> = data
            .projections
            .iter()
            .filter(|p| match &mode {
                Some(Mode::Name(name)) => &p.name == name,
                _ => true,
            })
            .map(|p| pb::projections::StatisticsResp {
                details: Some(pb::projections::statistics_resp::Details {
                    effective_name: p.name.clone(),
                    name: p.name.clone(),
                    status: p.status.clone(),
                    mode: "Continuous".to_owned(),
                    position: p.position.clone(),
                    progress: p.progress,
                    last_checkpoint: p.position.clone(),
                    checkpoint_status: String::new(),
                    ..Default::default()
                }),
            })
            .collect();
        if selected.is_empty() && matches!(mode, Some(Mode::Name(_))) {
            return Err(Status::not_found("no such projection"));
        }
        drop(data);
        Ok(Response::new(self.send(selected)))
    }
}

fn subscription_info(
    group: &super::PersistentGroup,
) -> pb::persistent_subscriptions::SubscriptionInfo {
    pb::persistent_subscriptions::SubscriptionInfo {
        event_source: group.event_source.clone(),
        group_name: group.group.clone(),
        status: "Live".to_owned(),
        last_checkpointed_event_position: group.last_checkpointed.clone(),
        last_known_event_position: group.last_known.clone(),
        start_from: "0".to_owned(),
        named_consumer_strategy: "RoundRobin".to_owned(),
        message_timeout_milliseconds: 30_000,
        check_point_after_milliseconds: 2_000,
        ..Default::default()
    }
}

#[tonic::async_trait]
impl PersistentSubscriptions for Node {
    async fn get_info(
        &self,
        request: Request<pb::persistent_subscriptions::GetInfoReq>,
    ) -> Result<Response<pb::persistent_subscriptions::GetInfoResp>, Status> {
        use pb::persistent_subscriptions::get_info_req::options::StreamOption;
        self.check_auth(&request)?;
        let options = request
            .into_inner()
            .options
            .ok_or_else(|| Status::invalid_argument("no options"))?;
        let source = match options.stream_option {
            Some(StreamOption::StreamIdentifier(id)) => {
                String::from_utf8_lossy(&id.stream_name).into_owned()
            }
            _ => "$all".to_owned(),
        };
        let data = self.data.read().unwrap();
        let group = data
            .persistent
            .iter()
            .find(|g| g.event_source == source && g.group == options.group_name)
            .ok_or_else(|| Status::not_found("no such subscription"))?;
        Ok(Response::new(pb::persistent_subscriptions::GetInfoResp {
            subscription_info: Some(subscription_info(group)),
        }))
    }

    async fn list(
        &self,
        request: Request<pb::persistent_subscriptions::ListReq>,
    ) -> Result<Response<pb::persistent_subscriptions::ListResp>, Status> {
        use pb::persistent_subscriptions::list_req::options::ListOption;
        use pb::persistent_subscriptions::list_req::stream_option::StreamOption;
        self.check_auth(&request)?;
        let wanted = match request.into_inner().options.and_then(|o| o.list_option) {
            Some(ListOption::ListForStream(stream)) => match stream.stream_option {
                Some(StreamOption::Stream(id)) => {
                    Some(String::from_utf8_lossy(&id.stream_name).into_owned())
                }
                _ => Some("$all".to_owned()),
            },
            _ => None,
        };
        let data = self.data.read().unwrap();
        let subscriptions: Vec<_> = data
            .persistent
            .iter()
            .filter(|g| wanted.as_ref().is_none_or(|w| &g.event_source == w))
            .map(subscription_info)
            .collect();
        if subscriptions.is_empty() && wanted.is_some() {
            return Err(Status::not_found("no subscriptions"));
        }
        Ok(Response::new(pb::persistent_subscriptions::ListResp {
            subscriptions,
        }))
    }
}
