//! Which service answers which method id, plus the built-in `describe` method.

use super::ServeError;
use crate::frame::DESCRIBE;
use crate::ids::IdMap;
use crate::schema::{MethodSchema, ServiceSchema};
use crate::service::Service;
use std::sync::Arc;

/// A served method: its service and schema.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) service: Arc<dyn Service>,
    pub(crate) schema: &'static MethodSchema,
    pub(crate) service_name: &'static str,
    pub(crate) fingerprint: u32,
    /// The method's JSON transcoder, built once; `None` for layouts JSON cannot express.
    #[cfg(feature = "json")]
    pub(crate) json: Option<Arc<crate::json::MethodCodec>>,
}

/// Every served method by id.
pub(crate) struct Registry {
    methods: IdMap<Entry>,
    describe: Vec<u8>,
    /// The OpenAPI 3.1 document of the served methods, served at `GET /openapi.json`.
    #[cfg(feature = "json")]
    openapi: Vec<u8>,
}

impl core::fmt::Debug for Registry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Registry")
            .field("methods", &self.methods.len())
            .finish_non_exhaustive()
    }
}

impl Registry {
    pub(crate) fn new(services: Vec<Arc<dyn Service>>) -> Result<Registry, ServeError> {
        let mut methods: IdMap<Entry> = IdMap::default();
        let mut schemas: Vec<&'static ServiceSchema> = Vec::new();
        for service in services {
            let schema = service.schema();
            schemas.push(schema);
            for method in schema.methods {
                let entry = Entry {
                    service: Arc::clone(&service),
                    schema: method,
                    service_name: schema.name,
                    fingerprint: method.fingerprint,
                    #[cfg(feature = "json")]
                    json: crate::json::MethodCodec::new(method).ok().map(Arc::new),
                };
                if method.id == DESCRIBE {
                    return Err(ServeError::DuplicateMethod {
                        id: DESCRIBE,
                        first: "(built-in describe)".into(),
                        second: format!("{}.{}", schema.name, method.name),
                    });
                }
                if let Some(first) = methods.insert(method.id, entry) {
                    return Err(ServeError::DuplicateMethod {
                        id: method.id,
                        first: format!("{}.{}", first.service_name, first.schema.name),
                        second: format!("{}.{}", schema.name, method.name),
                    });
                }
            }
        }
        let doc = crate::schema::DescribeDoc::new(crate::frame::VERSION, &schemas)
            .map_err(ServeError::Describe)?;
        #[cfg(feature = "json")]
        let openapi = {
            let title = schemas
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ");
            crate::openapi::from_describe(&title, env!("CARGO_PKG_VERSION"), &doc).to_string()
        };
        Ok(Registry {
            methods,
            describe: doc.to_json().into_bytes(),
            #[cfg(feature = "json")]
            openapi: openapi.into_bytes(),
        })
    }

    pub(crate) fn get(&self, id: u32) -> Option<&Entry> {
        self.methods.get(&id)
    }

    /// The JSON body of the `describe` reply.
    pub(crate) fn describe(&self) -> &[u8] {
        &self.describe
    }

    /// The OpenAPI 3.1 document of the served methods.
    #[cfg(feature = "json")]
    pub(crate) fn openapi(&self) -> &[u8] {
        &self.openapi
    }
}
