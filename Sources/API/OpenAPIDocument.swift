/// The OpenAPI 3.1 description of Rewind's HTTP API (`docs/api.md`), served at `/openapi.json`.
///
/// Kept as one literal so it reads like the document it is; `OpenAPIDocumentTests` parse it and
/// hold it to the code: every path and method of `docs/api.md`, error responses on every operation, and
/// the `JobSpec` schema's fields, defaults, limits and enums against `JobSpec` itself, so the two
/// cannot drift apart. `scripts/validate-openapi.sh` runs it through openapi-spec-validator.
public enum OpenAPIDocument {
    /// The document as JSON text.
    public static let json: String = withJobLinks(withCommonResponses(source))

    /// The document as written, before `withCommonResponses`.
    static let source: String = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "Rewind",
            "version": "1",
            "summary": "Exact hypergradients by reversible learning, as tuning jobs over HTTP.",
            "description": "Submit a job spec; Rewind trains a small MLP, reverses training exactly to get the gradient of the validation loss with respect to every hyperparameter (learning-rate and momentum schedules, L2 strengths, initial scales, even the training inputs), takes a meta-step and repeats. JSON everywhere, snake_case keys, times as RFC 3339 UTC strings, ids as opaque strings. Every error is `application/problem+json` (a page without a key answers the sign-in page as HTML). Each operation lists every status it can answer, those any request can get included: 400 (a malformed request), 408 (the request did not arrive in time), 413 (a body over the limit), 421 (a `Host` this server does not answer for), 429 (too many failed authentications or connections from this address, with `Retry-After`), 431 (request header fields too large), 500 (a bug; never a stack trace or SQL) and 503 (too many connections, shutting down or storage unavailable), 401 where a key is needed and 403 on state changes (from another origin or without the page's CSRF token). A path used with a method it does not have answers 405. Browser-only routes are left out and listed, with the reason, in `x-excluded-routes`. Limits and their defaults: see docs/security.md."
          },
          "x-excluded-routes": [
            { "method": "GET", "path": "/compare", "reason": "A dashboard page (HTML) comparing jobs; the API's equivalent is the history of each job." },
            { "method": "GET", "path": "/datasets", "reason": "A dashboard page (HTML) listing data sets; the API's equivalent is GET /v1/datasets." },
            { "method": "POST", "path": "/datasets", "reason": "The dashboard's upload form (multipart with the page's CSRF token, answered by a redirect); the API's equivalent is POST /v1/datasets." },
            { "method": "POST", "path": "/login", "reason": "The dashboard's sign-in form: it takes a key and its failures are rate-limited per address, so fuzzing it only locks the fuzzer out; programs send `Authorization: Bearer` instead." },
            { "method": "GET", "path": "/assets/{name}", "reason": "The dashboard's static stylesheet and scripts." }
          ],
          "tags": [
            { "name": "jobs", "description": "Tuning jobs: submit, follow, read the history and result, cancel, delete." },
            { "name": "datasets", "description": "Built-in and uploaded classification datasets." },
            { "name": "operations", "description": "Health, readiness, metrics and this document." },
            { "name": "pages", "description": "HTML pages for people, with server-rendered SVG plots." }
          ],
          "security": [ { "bearerAuth": [] }, {} ],
          "paths": {
            "/v1/jobs": {
              "post": {
                "tags": ["jobs"],
                "operationId": "createJob",
                "summary": "Submit a tuning job",
                "description": "The job is on disk before the answer goes out. With an `Idempotency-Key`, a repeat of the same key and body answers the original job (200) and creates nothing; the same key with another body answers 422; the same key while the first request is still being handled answers 409. A spec with `\"kind\": \"weight_sharing\"` is the weight-sharing experiment (`WeightSharingSpec`); without `kind`, a tuning job (`JobSpec`).",
                "parameters": [ { "$ref": "#/components/parameters/IdempotencyKey" } ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": { "oneOf": [ { "$ref": "#/components/schemas/JobSpec" }, { "$ref": "#/components/schemas/WeightSharingSpec" } ] }
                    }
                  }
                },
                "responses": {
                  "202": {
                    "description": "Accepted: the job is queued.",
                    "headers": { "Location": { "$ref": "#/components/headers/JobLocation" } },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } }
                  },
                  "200": {
                    "description": "A repeat of an earlier request with the same `Idempotency-Key` and body: the original job, nothing created.",
                    "headers": { "Location": { "$ref": "#/components/headers/JobLocation" } },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } }
                  },
                  "400": { "$ref": "#/components/responses/BadRequest" },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "409": { "$ref": "#/components/responses/Conflict" },
                  "411": { "$ref": "#/components/responses/LengthRequired" },
                  "403": { "$ref": "#/components/responses/Forbidden" },
                  "413": { "$ref": "#/components/responses/ContentTooLarge" },
                  "415": { "$ref": "#/components/responses/UnsupportedMediaType" },
                  "422": {
                    "description": "The spec is invalid; `errors` names every bad field as a JSON Pointer. This includes what depends on what is stored: a `dataset` id or name that does not exist or is another principal's (`no such data set: ID`, the same answer for both), and a split, model or run that does not fit the named data set or the memory budget. An `Idempotency-Key` reused with another body is 422 too.",
                    "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
                  },
                  "429": { "$ref": "#/components/responses/TooManyRequests" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              },
              "get": {
                "tags": ["jobs"],
                "operationId": "listJobs",
                "summary": "List jobs, newest first",
                "parameters": [
                  { "$ref": "#/components/parameters/JobStatusFilter" },
                  { "$ref": "#/components/parameters/JobsLimit" },
                  { "$ref": "#/components/parameters/PageToken" },
                  {
                    "name": "view", "in": "query", "required": false,
                    "description": "`summary` (the default) leaves each job's `spec` out; `full` includes it.",
                    "schema": { "type": "string", "enum": ["summary", "full"], "default": "summary" }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "One page of jobs.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/JobList" } } }
                  },
                  "400": { "$ref": "#/components/responses/BadRequest" },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "422": {
                    "description": "A query parameter is invalid, or `page_token` (of the right form) is not a token this server issued for this listing: another `status` filter's token, or one it never issued.",
                    "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
                  },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/jobs/{id}": {
              "parameters": [ { "$ref": "#/components/parameters/JobID" } ],
              "get": {
                "tags": ["jobs"],
                "operationId": "getJob",
                "summary": "Read a job",
                "responses": {
                  "200": {
                    "description": "The job.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              },
              "delete": {
                "tags": ["jobs"],
                "operationId": "deleteJob",
                "summary": "Delete a finished job and its history",
                "responses": {
                  "204": { "description": "Deleted." },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "409": { "$ref": "#/components/responses/Conflict" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/jobs/{id}/cancel": {
              "parameters": [ { "$ref": "#/components/parameters/JobID" } ],
              "post": {
                "tags": ["jobs"],
                "operationId": "cancelJob",
                "summary": "Cancel a queued or running job",
                "description": "Idempotent: cancelling a cancelled job answers 202 again. A running job stops within one inner training step and ends `cancelled`, keeping its history so far. A succeeded or failed job answers 409.",
                "responses": {
                  "202": {
                    "description": "Cancellation accepted (or the job was already cancelled).",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "409": { "$ref": "#/components/responses/Conflict" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/jobs/{id}/retry": {
              "parameters": [ { "$ref": "#/components/parameters/JobID" } ],
              "post": {
                "tags": ["jobs"],
                "operationId": "retryJob",
                "summary": "Queue a failed or cancelled job again",
                "description": "The job gets fresh attempts and resumes from its last committed checkpoint, so its history continues where it stopped and ends identical to an uninterrupted run. A queued, running or succeeded job answers 409.",
                "responses": {
                  "202": {
                    "description": "The job is queued again.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "409": { "$ref": "#/components/responses/Conflict" },
                  "429": { "$ref": "#/components/responses/TooManyRequests" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/jobs/{id}/history": {
              "parameters": [ { "$ref": "#/components/parameters/JobID" } ],
              "get": {
                "tags": ["jobs"],
                "operationId": "getJobHistory",
                "summary": "Read a job's evaluations in order",
                "description": "For `meta.iterations = N`, items 0..N-1 each train with that meta-iteration's hyperparameters and carry the hypergradient that produced the next ones; item N evaluates the final, learned hyperparameters, with `hypergradient: null`.",
                "parameters": [
                  { "$ref": "#/components/parameters/After" },
                  { "$ref": "#/components/parameters/HistoryLimit" }
                ],
                "responses": {
                  "200": {
                    "description": "One page of history items.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/HistoryPage" } } }
                  },
                  "400": { "$ref": "#/components/responses/BadRequest" },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "422": { "$ref": "#/components/responses/UnprocessableContent" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/jobs/{id}/result": {
              "parameters": [ { "$ref": "#/components/parameters/JobID" } ],
              "get": {
                "tags": ["jobs"],
                "operationId": "getJobResult",
                "summary": "Read a job's best and final evaluations",
                "description": "A succeeded job answers its best and final items with `partial: false`; a failed or cancelled job with at least one history item answers its best so far and the last item written, with `partial: true`. 409 while queued or running, and for a failed or cancelled job without history.",
                "responses": {
                  "200": {
                    "description": "The history item of the best meta-iteration and the last history item.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Result" } } }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "409": { "$ref": "#/components/responses/Conflict" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/jobs/{id}/schedule": {
              "parameters": [ { "$ref": "#/components/parameters/JobID" } ],
              "get": {
                "tags": ["jobs"],
                "operationId": "getJobSchedule",
                "summary": "Read one item's hyperparameters as the per-iteration, per-block table training applied",
                "description": "Learning rates and momenta per training iteration and parameter block (`momentum_applied`: the n/2^32 the exact dynamics use), L2 per block (or `l2_per_parameter` for per-weight L2) and init scales per block, for running a learned schedule in another trainer. Without `item`, the best item so far.",
                "parameters": [
                  { "name": "item", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0 }, "description": "The history item (0-based); default the best." },
                  { "name": "format", "in": "query", "required": false, "schema": { "type": "string", "enum": ["json", "csv"], "default": "json" } }
                ],
                "responses": {
                  "200": {
                    "description": "The table: JSON, or CSV with one row per (iteration, block).",
                    "content": {
                      "application/json": { "schema": { "type": "object" } },
                      "text/csv": { "schema": { "type": "string" } }
                    }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "409": { "$ref": "#/components/responses/Conflict" },
                  "422": { "$ref": "#/components/responses/UnprocessableContent" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/jobs/{id}/events": {
              "parameters": [ { "$ref": "#/components/parameters/JobID" } ],
              "get": {
                "tags": ["jobs"],
                "operationId": "streamJobEvents",
                "summary": "Follow a job as Server-Sent Events",
                "description": "Events named `progress` (data: `ProgressEvent`), `meta_iteration` (data: `MetaIterationEvent`) and `status` (data: `StatusEvent`), each with an `id:` line counting the history items sent so far; reconnect with `Last-Event-ID` (or `?last_event_id=`) to resume after the last event seen. Comment lines (`: ping`) keep idle streams open. The stream ends after the terminal `status` event. Streams are capped per client address (429) and in total (503).",
                "parameters": [
                  { "$ref": "#/components/parameters/LastEventID" },
                  {
                    "name": "last_event_id", "in": "query", "required": false,
                    "description": "`Last-Event-ID` for clients that cannot set headers.",
                    "schema": { "type": "integer", "minimum": 0, "maximum": 2147483647 }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "An event stream: `event:`, `id:` and one `data:` line of JSON per event, blank-line separated.",
                    "content": {
                      "text/event-stream": {
                        "schema": {
                          "description": "One event: its name, its id (the history items sent so far) and one line of JSON data.",
                          "type": "object",
                          "required": ["event", "id", "data"],
                          "properties": {
                            "event": { "type": "string", "enum": ["progress", "meta_iteration", "status"] },
                            "id": { "type": "string", "pattern": "^[0-9]+$" },
                            "data": {
                              "type": "string", "contentMediaType": "application/json",
                              "contentSchema": {
                                "oneOf": [
                                  { "$ref": "#/components/schemas/ProgressEvent" },
                                  { "$ref": "#/components/schemas/MetaIterationEvent" },
                                  { "$ref": "#/components/schemas/StatusEvent" }
                                ]
                              }
                            }
                          }
                        },
                        "example": "event: meta_iteration\nid: 4\ndata: {\"meta_iteration\":3,\"training_loss\":0.41,\"validation_loss\":0.52,\"validation_error\":0.13,\"seconds\":0.8,\"hypergradient_norm\":0.07}\n\n"
                      }
                    }
                  },
                  "400": { "$ref": "#/components/responses/BadRequest" },
                  "422": { "$ref": "#/components/responses/UnprocessableContent" },
                  "429": { "$ref": "#/components/responses/TooManyRequests" },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/jobs/{id}/plots/{name}.svg": {
              "parameters": [
                { "$ref": "#/components/parameters/JobID" },
                {
                  "name": "name",
                  "in": "path",
                  "required": true,
                  "description": "Which plot, e.g. the validation loss against meta-iteration or a learned schedule.",
                  "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]+$" }
                }
              ],
              "get": {
                "tags": ["jobs"],
                "operationId": "getJobPlot",
                "summary": "Render one of a job's plots",
                "responses": {
                  "200": {
                    "description": "The plot.",
                    "content": { "image/svg+xml": { "schema": { "type": "string" } } }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/datasets": {
              "post": {
                "tags": ["datasets"],
                "operationId": "uploadDataset",
                "summary": "Upload a dataset as CSV or NumPy .npz",
                "description": "Rows of numeric features with the integer class label (0..K-1, every class present) in the last column; an optional header row is allowed. Send the file raw (curl --data-binary) or as a multipart form whose file part is the CSV (curl -F file=@data.csv). The same bytes again answer 200 with the stored data set; a taken name with other content, or a built-in's name, answers 409.",
                "parameters": [
                  {
                    "name": "name",
                    "in": "query",
                    "required": true,
                    "description": "Unique; a spec names the data set by it or by its id. Required (a raw body without it answers 422); a form alone may leave it out and give a `name` field, or let the file name (without its extension) name it. A NUL character cannot be sent in a request target at all (400).",
                    "schema": { "type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\u0000]+$" }
                  },
                  {
                    "name": "shape",
                    "in": "query",
                    "required": false,
                    "description": "Each row's shape: height,width,channels for images (e.g. 28,28,1; values channels fastest), or the feature count for a table (the default). Its product must be the feature count (422 naming shape otherwise).",
                    "schema": { "type": "string", "pattern": "^[0-9]+(,[0-9]+,[0-9]+)?$" },
                    "example": "28,28,1"
                  },
                  {
                    "name": "format",
                    "in": "query",
                    "required": false,
                    "description": "csv (the default) or npz. A body sent as application/x-npz, or a form's file named *.npz, is an archive without it.",
                    "schema": { "type": "string", "enum": ["csv", "npz"] }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "text/csv": { "schema": { "type": "string" }, "example": "x1,x2,label\n0.1,0.5,0\n0.9,0.2,1\n" },
                    "application/x-npz": { "schema": { "type": "string", "format": "binary", "description": "numpy.savez or savez_compressed output holding x (N×D, N×H×W or N×H×W×C; uint8, float32 or float64) and y (N integer labels); nothing else, never pickled objects." } },
                    "application/octet-stream": { "schema": { "type": "string", "format": "binary", "description": "A .npz archive with ?format=npz." } },
                    "multipart/form-data": {
                      "schema": {
                        "type": "object", "required": ["file"],
                        "properties": { "file": { "type": "string", "format": "binary" }, "name": { "type": "string" } }
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Stored.",
                    "headers": { "Location": { "$ref": "#/components/headers/DatasetLocation" } },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Dataset" } } }
                  },
                  "200": {
                    "description": "These bytes were stored before: the stored data set, under its first name.",
                    "headers": { "Location": { "$ref": "#/components/headers/DatasetLocation" } },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Dataset" } } }
                  },
                  "400": { "$ref": "#/components/responses/BadRequest" },
                  "409": { "$ref": "#/components/responses/Conflict" },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "403": { "$ref": "#/components/responses/Forbidden" },
                  "411": { "$ref": "#/components/responses/LengthRequired" },
                  "413": { "$ref": "#/components/responses/ContentTooLarge" },
                  "422": {
                    "description": "The body does not parse as a data set (the line and column are named), or a raw body came without `name`.",
                    "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
                  },
                  "429": { "$ref": "#/components/responses/TooManyRequests" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" },
                  "507": {
                    "description": "The uploaded datasets would exceed the storage quota; delete some first.",
                    "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
                  }
                }
              },
              "get": {
                "tags": ["datasets"],
                "operationId": "listDatasets",
                "summary": "List datasets, built-ins included",
                "responses": {
                  "200": {
                    "description": "Every dataset.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/DatasetList" } } }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/datasets/{id}": {
              "parameters": [ { "$ref": "#/components/parameters/DatasetID" } ],
              "get": {
                "tags": ["datasets"],
                "operationId": "getDataset",
                "summary": "Read a dataset's description",
                "responses": {
                  "200": {
                    "description": "The dataset.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Dataset" } } }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              },
              "delete": {
                "tags": ["datasets"],
                "operationId": "deleteDataset",
                "summary": "Delete an uploaded dataset",
                "description": "409 while a queued or running job uses it.",
                "responses": {
                  "204": { "description": "Deleted." },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "409": { "$ref": "#/components/responses/Conflict" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/v1/datasets/{id}/data": {
              "parameters": [ { "$ref": "#/components/parameters/DatasetID" } ],
              "get": {
                "tags": ["datasets"],
                "operationId": "getDatasetData",
                "summary": "Download a dataset's rows as CSV",
                "description": "Every row, each feature value then the integer class label, comma separated, no header row; values are written in their shortest exact form, so uploading the answer again (or naming it as a local file in `rewind run`) trains on the very same numbers. Streamed as it is read from storage. Another principal's dataset is 404, as a missing one. `rewind export --spec --url` reads an uploaded dataset through this.",
                "responses": {
                  "200": {
                    "description": "The rows.",
                    "content": { "text/csv": { "schema": { "type": "string" } } }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/healthz": {
              "get": {
                "tags": ["operations"],
                "operationId": "getHealth",
                "summary": "Whether the process is alive",
                "security": [],
                "responses": {
                  "200": {
                    "description": "Alive.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } }
                  }
                }
              }
            },
            "/readyz": {
              "get": {
                "tags": ["operations"],
                "operationId": "getReadiness",
                "summary": "Whether the service can take work",
                "description": "Ready when the database is open and migrated and answers reads and writes (as this node last saw it: answered from memory, within 2 s of a change), the workers run and the process is not shutting down.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "Ready.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } }
                  },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/metrics": {
              "get": {
                "tags": ["operations"],
                "operationId": "getMetrics",
                "summary": "Prometheus metrics",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The Prometheus text exposition format, version 0.0.4.",
                    "content": { "text/plain; version=0.0.4": { "schema": { "type": "string" } } }
                  }
                }
              }
            },
            "/openapi.json": {
              "get": {
                "tags": ["operations"],
                "operationId": "getOpenAPIDocument",
                "summary": "This document",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The OpenAPI 3.1 description of this API.",
                    "content": { "application/json": { "schema": { "type": "object" } } }
                  }
                }
              }
            },
            "/": {
              "get": {
                "tags": ["pages"],
                "operationId": "getJobsPage",
                "summary": "The jobs, as a web page",
                "responses": {
                  "200": { "description": "An HTML page.", "content": { "text/html": { "schema": { "type": "string" } } } },
                  "401": { "$ref": "#/components/responses/SignIn" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/jobs/{id}": {
              "parameters": [ { "$ref": "#/components/parameters/JobID" } ],
              "get": {
                "tags": ["pages"],
                "operationId": "getJobPage",
                "summary": "One job with its plots, as a web page",
                "responses": {
                  "200": { "description": "An HTML page.", "content": { "text/html": { "schema": { "type": "string" } } } },
                  "401": { "$ref": "#/components/responses/SignIn" },
                  "404": { "$ref": "#/components/responses/NotFoundPage" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            },
            "/logout": {
              "post": {
                "tags": ["pages"],
                "operationId": "signOut",
                "summary": "End the dashboard session",
                "description": "Deletes the session of the `rewind_session` cookie and clears the cookie. A form post needs the page's `csrf_token`, as every dashboard form does.",
                "requestBody": {
                  "required": false,
                  "content": {
                    "application/x-www-form-urlencoded": {
                      "schema": { "type": "object", "properties": { "csrf_token": { "type": "string" } } }
                    }
                  }
                },
                "responses": {
                  "303": {
                    "description": "Signed out: to `/`, with the cookie cleared.",
                    "headers": {
                      "Location": { "schema": { "type": "string" } },
                      "Set-Cookie": { "schema": { "type": "string" } }
                    }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "403": { "$ref": "#/components/responses/Forbidden" },
                  "503": { "$ref": "#/components/responses/ServiceUnavailable" }
                }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer <API key>`. Required once keys are stored (`rewind keys create`) or seeded (`REWIND_API_KEYS`); a missing or bad key then answers 401. Each key sees only what it created (another key's jobs and data sets answer 404); admin keys see everything."
              }
            },
            "parameters": {
              "JobID": {
                "name": "id", "in": "path", "required": true, "description": "The job's id.",
                "schema": { "type": "string" }
              },
              "DatasetID": {
                "name": "id", "in": "path", "required": true, "description": "The dataset's id (a built-in's is its name).",
                "schema": { "type": "string" }
              },
              "IdempotencyKey": {
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Makes a retried submission safe: the same key and body answer the original job.",
                "schema": { "type": "string", "minLength": 1, "maxLength": 200 }
              },
              "JobStatusFilter": {
                "name": "status", "in": "query", "required": false, "description": "Only jobs with this status.",
                "schema": { "$ref": "#/components/schemas/JobStatus" }
              },
              "JobsLimit": {
                "name": "limit", "in": "query", "required": false, "description": "Jobs per page.",
                "schema": { "type": "integer", "minimum": 1, "maximum": 200, "default": 50 }
              },
              "PageToken": {
                "name": "page_token", "in": "query", "required": false,
                "description": "The `next_page_token` of the previous page, with the same other parameters: an opaque base64url string (letters, digits, `-` and `_`) bound to the `status` filter. A token of another form, or one this server did not issue for this listing, answers 422.",
                "schema": { "type": "string", "minLength": 1, "maxLength": 1024, "pattern": "^[A-Za-z0-9_-]+$" }
              },
              "After": {
                "name": "after", "in": "query", "required": false,
                "description": "Only items with `meta_iteration` greater than this; the previous page's `next_after` (-1, the default, starts at the first item).",
                "schema": { "type": "integer", "minimum": -1, "maximum": 2147483647, "default": -1 }
              },
              "HistoryLimit": {
                "name": "limit", "in": "query", "required": false, "description": "Items per page.",
                "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 }
              },
              "LastEventID": {
                "name": "Last-Event-ID", "in": "header", "required": false,
                "description": "Resume after this event (the `id:` of the last event received): an integer from 0 to 2147483647; anything else answers 422.",
                "schema": { "type": "integer", "minimum": 0, "maximum": 2147483647 }
              }
            },
            "headers": {
              "JobLocation": {
                "description": "The job's URL, `/v1/jobs/{id}`.",
                "schema": { "type": "string", "format": "uri-reference" }
              },
              "DatasetLocation": {
                "description": "The dataset's URL, `/v1/datasets/{id}`.",
                "schema": { "type": "string", "format": "uri-reference" }
              },
              "RetryAfter": {
                "description": "Seconds to wait before trying again.",
                "schema": { "type": "integer", "minimum": 0 }
              }
            },
            "responses": {
              "BadRequest": {
                "description": "Malformed: the body is not JSON, or a query parameter or header is invalid.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "Unauthorized": {
                "description": "The API key is missing or wrong.",
                "headers": { "WWW-Authenticate": { "schema": { "type": "string" } } },
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "NotFound": {
                "description": "No such id.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "Conflict": {
                "description": "The resource's state does not allow this now.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "LengthRequired": {
                "description": "The body has no `Content-Length` (nor chunked framing).",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "ContentTooLarge": {
                "description": "The body is larger than the server accepts.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "UnprocessableContent": {
                "description": "Well-formed but invalid content; `errors` lists every bad field as a JSON Pointer.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "Forbidden": {
                "description": "A state change from another origin, or a browser request without the page's CSRF token.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "UnsupportedMediaType": {
                "description": "The body is not `application/json`.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "TooManyRequests": {
                "description": "Too many jobs are queued, too many submissions or event streams from this principal or address; try again after `Retry-After` seconds.",
                "headers": { "Retry-After": { "$ref": "#/components/headers/RetryAfter" } },
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "ServiceUnavailable": {
                "description": "Shutting down or storage unavailable; try again after `Retry-After` seconds.",
                "headers": { "Retry-After": { "$ref": "#/components/headers/RetryAfter" } },
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "RequestTimeout": {
                "description": "The request did not arrive in time (a slow head or body).",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "MisdirectedRequest": {
                "description": "The `Host` header names a host this server does not answer for.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "HeaderFieldsTooLarge": {
                "description": "The request head is larger than the server accepts.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "InternalError": {
                "description": "A bug; never a stack trace or SQL.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              },
              "NotFoundPage": {
                "description": "No such job: a page saying so (HTML).",
                "content": {
                  "text/html": { "schema": { "type": "string" } },
                  "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } }
                }
              },
              "SignIn": {
                "description": "Without a valid key or session a page answers the sign-in page (HTML); too many failed sign-ins from the address answer problem+json.",
                "content": {
                  "text/html": { "schema": { "type": "string" } },
                  "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } }
                }
              }
            },
            "schemas": {
              "Problem": {
                "type": "object",
                "description": "An RFC 9457 problem document.",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                  "type": { "type": "string", "format": "uri-reference", "examples": ["/problems/invalid-spec"] },
                  "title": { "type": "string" },
                  "status": { "type": "integer", "minimum": 400, "maximum": 599 },
                  "detail": { "type": "string" },
                  "errors": {
                    "type": "array",
                    "description": "Every offending field (422 for invalid content).",
                    "items": {
                      "type": "object",
                      "required": ["field", "message"],
                      "properties": {
                        "field": { "type": "string", "description": "A JSON Pointer into the request body.", "examples": ["/training/iterations"] },
                        "message": { "type": "string", "examples": ["must be between 1 and 100000"] }
                      }
                    }
                  }
                }
              },
              "JobStatus": {
                "type": "string",
                "enum": ["queued", "running", "succeeded", "failed", "cancelled"]
              },
              "WeightSharingSpec": {
                "type": "object",
                "description": "The paper's weight-sharing experiment on the built-in Omniglot tasks: one network per task whose layer weights are W_l(a) = Σ_j T_l[a, j] z_l(j), and the transforms T_l learned by plain gradient descent on their exact hypergradient. Every field but `kind` is optional (the paper's settings are the defaults); jobs report it back with every default filled in.",
                "required": ["kind"],
                "additionalProperties": false,
                "properties": {
                  "kind": { "type": "string", "enum": ["weight_sharing"] },
                  "name": { "type": "string", "minLength": 1, "maxLength": 200, "default": "omniglot weight sharing" },
                  "dataset": {
                    "type": "object", "additionalProperties": false,
                    "properties": { "name": { "type": "string", "enum": ["omniglot"], "default": "omniglot" } }
                  },
                  "model": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                      "hidden": {
                        "type": "array", "minItems": 1, "maxItems": 4, "default": [400, 200],
                        "items": { "type": "integer", "minimum": 1, "maximum": 4096 },
                        "description": "Hidden widths of every task's 784-…-40 tanh network."
                      },
                      "sharing": {
                        "type": "object", "additionalProperties": false,
                        "properties": {
                          "tasks": { "type": "string", "enum": ["alphabets+rotations", "alphabets"], "default": "alphabets+rotations", "description": "Each alphabet a task, and with rotations the same alphabet turned by 90° another." },
                          "alphabets": { "type": "integer", "minimum": 1, "maximum": 5, "default": 5 },
                          "layers": {
                            "type": "array", "minItems": 1, "maxItems": 5, "uniqueItems": true, "default": [1, 2, 3],
                            "items": { "type": "integer", "minimum": 1, "maximum": 5 },
                            "description": "The layers (1 = the input layer, at most hidden + 1) whose T_l are learned; the others keep 0.5·I + 0.05·11ᵀ."
                          },
                          "learn": { "type": "string", "enum": ["transforms"], "default": "transforms" }
                        }
                      }
                    }
                  },
                  "training": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                      "iterations": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 50, "description": "Full-batch steps T." },
                      "learning_rate": { "type": "number", "exclusiveMinimum": 0, "maximum": 1000000, "default": 1 },
                      "momentum": { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.9 },
                      "init_scale": { "type": "number", "exclusiveMinimum": 0, "maximum": 1000000, "default": 0.1353352832366127 },
                      "l2": { "type": "number", "minimum": 0, "maximum": 1000000, "default": 0.01831563888873418, "description": "½λ‖z‖² on the shared z's (not the biases)." }
                    }
                  },
                  "meta": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                      "iterations": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 20 },
                      "step_size": { "type": "number", "exclusiveMinimum": 0, "maximum": 1000000, "default": 0.2 },
                      "validation_drawings": { "type": "integer", "minimum": 1, "maximum": 11, "default": 2, "description": "Of each character's 12 training drawings, re-drawn every meta-iteration." },
                      "seed": { "type": "integer", "minimum": 0, "maximum": 2147483647, "default": 0 }
                    }
                  }
                }
              },
              "JobSpec": {
                "type": "object",
                "description": "A tuning job. Every field but `dataset` is optional; jobs report it back with every default filled in. The same spec always gives the same results, bit for bit, on the same build.",
                "required": ["dataset"],
                "additionalProperties": false,
                "properties": {
                  "name": {
                    "type": "string", "minLength": 1, "maxLength": 200,
                    "description": "For people. Defaults to \"<dataset name> schedules\" (an upload's name, not its id)."
                  },
                  "dataset": {
                    "description": "A built-in dataset by name, or an uploaded one by id. `rewind run` also takes a local CSV file by path (relative to the spec file); the service answers 422 for a path.",
                    "oneOf": [
                      {
                        "type": "object", "required": ["name"], "additionalProperties": false,
                        "properties": { "name": { "type": "string", "enum": ["digits", "mnist"] } }
                      },
                      {
                        "type": "object", "required": ["id"], "additionalProperties": false,
                        "properties": { "id": { "type": "string", "minLength": 1, "maxLength": 200 } }
                      },
                      {
                        "type": "object", "required": ["path"], "additionalProperties": false,
                        "properties": { "path": { "type": "string", "minLength": 1, "maxLength": 4096 } }
                      }
                    ]
                  },
                  "split": {
                    "type": "object", "additionalProperties": false,
                    "description": "Consecutive rows (after the optional shuffle): train, then validation, then test; they must fit the dataset. Each part is a row count or a fraction of the rows strictly between 0 and 1. Parts left out default from the dataset's size: 1000 / 797 / 0 with at least 1797 rows, otherwise 60 % / 20 % / 20 %. Jobs report row counts.",
                    "properties": {
                      "train": { "$ref": "#/components/schemas/SplitPart", "default": 1000 },
                      "validation": { "$ref": "#/components/schemas/SplitPart", "default": 797 },
                      "test": {
                        "$ref": "#/components/schemas/SplitPart", "default": 0,
                        "description": "Held-out rows, never used for tuning nor for choosing the best item; scored as test_loss and test_error."
                      },
                      "shuffle": {
                        "type": "boolean", "default": false,
                        "description": "Permute all rows (seeded by `seed`) before cutting. Left out: true on an uploaded data set, false on a built-in."
                      },
                      "seed": { "type": "integer", "minimum": 0, "maximum": 9007199254740992, "default": 0 }
                    }
                  },
                  "preprocess": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                      "standardize": {
                        "type": "boolean", "default": false,
                        "description": "Centre and scale each feature by its mean and standard deviation over the training rows only. Left out: true on an uploaded data set, false on a built-in."
                      },
                      "mean": {
                        "type": ["array", "null"], "items": { "type": "number" }, "default": null,
                        "description": "One per feature; with `std`, the statistics to use. Jobs record the ones computed."
                      },
                      "std": { "type": ["array", "null"], "items": { "type": "number", "exclusiveMinimum": 0 }, "default": null }
                    }
                  },
                  "model": {
                    "type": "object",
                    "description": "A network with a softmax output: the dense shorthand (hidden, activation) or layers; at most 2000000 parameters with the dataset's shape.",
                    "properties": {
                      "hidden": {
                        "type": "array", "maxItems": 8, "default": [50, 50],
                        "description": "Hidden layer widths; [] is multinomial logistic regression.",
                        "items": { "type": "integer", "minimum": 1, "maximum": 4096 }
                      },
                      "activation": { "type": "string", "enum": ["tanh", "relu", "sigmoid"], "default": "tanh" }
                    },
                    "oneOf": [
                      {
                        "type": "object", "additionalProperties": false,
                        "properties": { "hidden": { "type": "array" }, "activation": { "type": "string" } }
                      },
                      {
                        "type": "object", "additionalProperties": false, "required": ["layers"],
                        "properties": {
                          "layers": {
                            "type": "array", "maxItems": 32,
                            "description": "The network's body as layers, instead of hidden and activation; the output dense layer is appended. Image layers need a data set with an image shape (digits: 8x8x1, mnist: 28x28x1).",
                            "items": {
                              "type": "object", "required": ["type"], "additionalProperties": false,
                              "properties": {
                                "type": { "type": "string", "enum": ["dense", "conv2d", "maxpool", "avgpool", "tanh", "relu", "sigmoid", "flatten"] },
                                "units": { "type": "integer", "minimum": 1, "maximum": 4096, "description": "dense" },
                                "filters": { "type": "integer", "minimum": 1, "maximum": 1024, "description": "conv2d" },
                                "kernel": { "type": "integer", "minimum": 1, "maximum": 32, "description": "conv2d: square kernel" },
                                "stride": { "type": "integer", "minimum": 1, "maximum": 32, "default": 1, "description": "conv2d" },
                                "padding": { "type": "string", "enum": ["same", "valid"], "default": "same", "description": "conv2d" },
                                "size": { "type": "integer", "minimum": 1, "maximum": 32, "description": "maxpool, avgpool: window and stride" }
                              }
                            }
                          }
                        }
                      }
                    ]
                  },
                  "training": {
                    "type": "object", "additionalProperties": false,
                    "description": "The inner training run. (meta.iterations + 1) x iterations x batch_size x parameters must be at most 1e13.",
                    "properties": {
                      "iterations": { "type": "integer", "minimum": 1, "maximum": 100000, "default": 100 },
                      "batch_size": {
                        "type": "integer", "minimum": 1, "maximum": 100000, "default": 100,
                        "description": "At most split.train. Left out: min(100, training rows)."
                      },
                      "seed": { "type": "integer", "minimum": 0, "maximum": 9007199254740992, "default": 0 },
                      "batches": {
                        "type": "string", "enum": ["random", "cyclic"], "default": "random",
                        "description": "random: drawn from the seed, the meta-iteration and the step; cyclic: batch t starts at row (t * batch_size) mod train."
                      },
                      "optimizer": {
                        "type": "string", "enum": ["sgd", "adam"], "default": "sgd", "x-optimizer": "adam",
                        "description": "The inner optimiser: sgd (with momentum) or adam (bias-corrected, with decoupled weight decay). Each has its own hyperparameter groups; another's is a 422. A job's spec shows it only for adam."
                      }
                    }
                  },
                  "hyperparameters": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                      "learning_rate": {
                        "type": "object", "additionalProperties": false,
                        "description": "Step sizes over time and parameter blocks.",
                        "properties": {
                          "init": {
                            "default": 0.5,
                            "description": "One value everywhere, or the whole (segments, blocks) table.",
                            "oneOf": [
                              { "$ref": "#/components/schemas/LearningRateValue" },
                              { "type": "array", "items": { "type": "array", "items": { "$ref": "#/components/schemas/LearningRateValue" } } }
                            ]
                          },
                          "schedule": { "$ref": "#/components/schemas/Schedule" },
                          "per_block": { "type": "boolean", "default": true, "description": "One value per parameter block, or one for all." },
                          "learn": { "type": "boolean", "default": true }
                        }
                      },
                      "momentum": {
                        "$ref": "#/components/schemas/DecaySchedule", "x-optimizer": "sgd",
                        "description": "SGD only: momenta over time and parameter blocks."
                      },
                      "beta1": {
                        "$ref": "#/components/schemas/DecaySchedule", "x-optimizer": "adam",
                        "description": "Adam only: first-moment decays over time and parameter blocks, learned in logit space."
                      },
                      "beta2": {
                        "$ref": "#/components/schemas/DecaySchedule", "x-optimizer": "adam",
                        "description": "Adam only: second-moment decays over time and parameter blocks, learned in logit space.",
                        "properties": { "init": { "default": 0.999 } }
                      },
                      "epsilon": {
                        "type": "object", "additionalProperties": false, "x-optimizer": "adam",
                        "description": "Adam only: the epsilon of sqrt(v_hat) + epsilon, one value, learned in log space.",
                        "properties": {
                          "init": { "type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 1e-8 },
                          "learn": { "type": "boolean", "default": true }
                        }
                      },
                      "weight_decay": {
                        "type": "object", "additionalProperties": false, "x-optimizer": "adam",
                        "description": "Adam only: decoupled (AdamW) weight decay on the weights, learned in log space: one value, one per weight block or one per weight (an array of one value per weight, biases excluded, in block order). The single number 0 switches it off (nothing is learned); otherwise every value is positive.",
                        "properties": {
                          "init": {
                            "default": 0,
                            "oneOf": [
                              { "type": "number", "minimum": 0, "maximum": 1000 },
                              { "type": "array", "items": { "type": "number", "exclusiveMinimum": 0, "maximum": 1000 } }
                            ]
                          },
                          "per": { "type": "string", "enum": ["global", "block", "weight"], "default": "global" },
                          "learn": { "type": "boolean", "default": true }
                        }
                      },
                      "l2": {
                        "type": "object", "additionalProperties": false,
                        "description": "L2 strengths on the weight blocks (biases are not penalised).",
                        "properties": {
                          "init": {
                            "default": 0.0001,
                            "description": "One value everywhere, or one per entry of the group (1, weight blocks, or weights in block order).",
                            "oneOf": [
                              { "$ref": "#/components/schemas/L2Value" },
                              { "type": "array", "items": { "$ref": "#/components/schemas/L2Value" } }
                            ]
                          },
                          "per": { "type": "string", "enum": ["global", "block", "weight"], "default": "block" },
                          "learn": { "type": "boolean", "default": true }
                        }
                      },
                      "init_scale": {
                        "type": "object", "additionalProperties": false,
                        "description": "Scales s of the initial weights, s * N(0, 1).",
                        "properties": {
                          "init": {
                            "default": 0.1,
                            "description": "One value everywhere, or one per entry of the group (1, or blocks with biases).",
                            "oneOf": [
                              { "$ref": "#/components/schemas/InitScaleValue" },
                              { "type": "array", "items": { "$ref": "#/components/schemas/InitScaleValue" } }
                            ]
                          },
                          "per": { "type": "string", "enum": ["global", "block"], "default": "block" },
                          "learn": { "type": "boolean", "default": true }
                        }
                      },
                      "training_data": {
                        "type": "object", "additionalProperties": false,
                        "description": "Learn the training inputs themselves (dataset distillation); train rows x features must be at most 1000000.",
                        "properties": {
                          "learn": { "type": "boolean", "default": false }
                        }
                      }
                    }
                  },
                  "meta": {
                    "type": "object", "additionalProperties": false,
                    "description": "The outer loop over the unconstrained hyperparameters.",
                    "properties": {
                      "iterations": {
                        "type": "integer", "minimum": 0, "maximum": 10000, "default": 50,
                        "description": "0 evaluates the initial hyperparameters once."
                      },
                      "optimizer": {
                        "type": "string", "enum": ["adam", "sgd"], "default": "adam",
                        "description": "sgd is heavy-ball momentum 0.9."
                      },
                      "step_size": { "type": "number", "exclusiveMinimum": 0, "maximum": 100, "default": 0.04 },
                      "objective": { "type": "string", "enum": ["validation_loss", "training_loss"], "default": "validation_loss" },
                      "reseed": {
                        "type": "boolean", "default": true,
                        "description": "Draw new initial weights and batches each meta-iteration."
                      },
                      "seeds": {
                        "type": "integer", "minimum": 1, "maximum": 64, "default": 1,
                        "description": "Training runs per meta-iteration (run s draws from training.seed + s); losses and hypergradients are their means."
                      },
                      "guard": {
                        "description": "Reject items that diverge, whose objective exceeds the last accepted item's by more than `tolerance`, or whose hypergradient norm exceeds it by more than `gradient_jump` times; go back to the last accepted point and shrink the step by `shrink`. A last item worse than the best by more than `tolerance` is replaced by a re-evaluation of the best. true/false switch it with the default settings.",
                        "default": { "enabled": true, "tolerance": 0.25, "gradient_jump": 100, "shrink": 0.5 },
                        "oneOf": [
                          { "type": "boolean" },
                          {
                            "type": "object", "additionalProperties": false,
                            "properties": {
                              "enabled": { "type": "boolean", "default": true },
                              "tolerance": { "type": "number", "minimum": 0, "maximum": 100, "default": 0.25 },
                              "gradient_jump": { "type": "number", "exclusiveMinimum": 1, "default": 100 },
                              "shrink": { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.5 }
                            }
                          }
                        ]
                      },
                      "patience": {
                        "type": ["integer", "null"], "minimum": 1, "maximum": 10000, "default": null,
                        "description": "End the job (succeeded, stopped_early) when this many items have passed since the best one."
                      }
                    }
                  }
                }
              },
              "DecaySchedule": {
                "type": "object", "additionalProperties": false,
                "description": "A group of decays in (0, 1) over time and parameter blocks (momentum, beta1, beta2), learned in logit space.",
                "properties": {
                  "init": {
                    "default": 0.9,
                    "description": "One value everywhere, or the whole (segments, blocks) table (beta2 defaults to 0.999).",
                    "oneOf": [
                      { "$ref": "#/components/schemas/MomentumValue" },
                      { "type": "array", "items": { "type": "array", "items": { "$ref": "#/components/schemas/MomentumValue" } } }
                    ]
                  },
                  "schedule": { "$ref": "#/components/schemas/Schedule" },
                  "per_block": { "type": "boolean", "default": true, "description": "One value per parameter block, or one for all." },
                  "learn": { "type": "boolean", "default": true }
                }
              },
              "Schedule": {
                "description": "How a schedule divides the iterations: one value, one per iteration, or K equal runs of iterations (K at most training.iterations).",
                "default": "per_iteration",
                "oneOf": [
                  { "type": "string", "enum": ["constant", "per_iteration"] },
                  {
                    "type": "object", "required": ["segments"], "additionalProperties": false,
                    "properties": { "segments": { "type": "integer", "minimum": 1, "maximum": 100000 } }
                  }
                ]
              },
              "SplitPart": {
                "description": "A row count, or a fraction of the dataset's rows strictly between 0 and 1 (floored).",
                "oneOf": [
                  { "type": "integer", "minimum": 0, "maximum": 1000000 },
                  { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 }
                ]
              },
              "LearningRateValue": { "type": "number", "exclusiveMinimum": 0, "maximum": 1000 },
              "MomentumValue": { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 },
              "L2Value": {
                "type": "number", "exclusiveMinimum": 0, "maximum": 1000000,
                "description": "It is e^u, so 0 is not allowed: use 1e-12 to switch L2 off."
              },
              "InitScaleValue": { "type": "number", "exclusiveMinimum": 0, "maximum": 100 },
              "Job": {
                "type": "object",
                "required": ["id", "name", "status", "created_at", "started_at", "finished_at", "progress", "latest", "best", "error"],
                "properties": {
                  "id": { "type": "string" },
                  "name": { "type": "string" },
                  "status": { "$ref": "#/components/schemas/JobStatus" },
                  "created_at": { "type": "string", "format": "date-time" },
                  "started_at": { "type": ["string", "null"], "format": "date-time" },
                  "finished_at": { "type": ["string", "null"], "format": "date-time" },
                  "spec": {
                    "description": "The spec with every default filled in; left out of listings unless `?view=full`.",
                    "oneOf": [ { "$ref": "#/components/schemas/JobSpec" }, { "$ref": "#/components/schemas/WeightSharingSpec" } ]
                  },
                  "warnings": {
                    "type": "array",
                    "description": "What the job's data, split or outcome give reason to doubt (codes in docs/api.md); empty when none.",
                    "items": {
                      "type": "object", "required": ["code", "detail"],
                      "properties": { "code": { "type": "string" }, "detail": { "type": "string" } }
                    }
                  },
                  "progress": {
                    "type": "object",
                    "required": ["done", "total", "fraction"],
                    "properties": {
                      "done": { "type": "integer", "minimum": 0, "description": "History items written so far." },
                      "total": { "type": "integer", "minimum": 1, "description": "meta.iterations + 1." },
                      "fraction": {
                        "type": "number", "minimum": 0, "maximum": 1,
                        "description": "Counts inner training and reverse steps; never goes backwards."
                      }
                    }
                  },
                  "latest": {
                    "description": "The last history item's scores.",
                    "oneOf": [
                      {
                        "type": "object",
                        "required": ["meta_iteration", "training_loss", "validation_loss", "validation_error"],
                        "properties": {
                          "meta_iteration": { "type": "integer", "minimum": 0 },
                          "training_loss": { "type": ["number", "null"] },
                          "validation_loss": { "type": ["number", "null"] },
                          "validation_error": { "type": ["number", "null"], "minimum": 0, "maximum": 1 },
                          "test_loss": { "type": ["number", "null"], "description": "With a test split." },
                          "test_error": { "type": ["number", "null"], "minimum": 0, "maximum": 1 },
                          "step": { "type": "string", "enum": ["accepted", "rejected"], "description": "While the guard is on." }
                        }
                      },
                      { "type": "null" }
                    ]
                  },
                  "best": {
                    "description": "The scores of the accepted meta-iteration with the lowest objective (meta.objective, mean over meta.seeds) so far; never chosen by the test split.",
                    "oneOf": [
                      {
                        "type": "object",
                        "required": ["meta_iteration", "validation_loss", "validation_error"],
                        "properties": {
                          "meta_iteration": { "type": "integer", "minimum": 0 },
                          "validation_loss": { "type": "number" },
                          "validation_error": { "type": "number", "minimum": 0, "maximum": 1 },
                          "training_loss": { "type": "number" },
                          "test_loss": { "type": "number", "description": "With a test split." },
                          "test_error": { "type": "number", "minimum": 0, "maximum": 1 },
                          "objective": { "type": "number", "description": "The value best is ranked by." }
                        }
                      },
                      { "type": "null" }
                    ]
                  },
                  "error": {
                    "description": "Why a failed job failed.",
                    "oneOf": [
                      {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                          "code": { "type": "string", "examples": ["diverged", "not_reversible"] },
                          "message": { "type": "string" }
                        }
                      },
                      { "type": "null" }
                    ]
                  },
                  "dataset": {
                    "type": ["object", "null"],
                    "description": "The spec's data set ({\"name\": ...} for a built-in, {\"id\": ..., \"name\": ...} for an upload: its id and the name it was uploaded under), also in summaries, which leave out the spec."
                  },
                  "stopped_early": {
                    "type": "boolean",
                    "description": "True for a succeeded job that meta.patience ended before its last item (progress.done < progress.total)."
                  }
                }
              },
              "JobList": {
                "type": "object",
                "required": ["jobs", "next_page_token"],
                "properties": {
                  "jobs": { "type": "array", "items": { "$ref": "#/components/schemas/Job" } },
                  "next_page_token": { "type": ["string", "null"], "description": "null on the last page." }
                }
              },
              "Hyperparameters": {
                "type": "object",
                "description": "Values in natural units, or (as a hypergradient) the gradient with respect to the unconstrained parameters: log learning rate, logit momentum, log L2, log init scale; for Adam jobs logit beta1 and beta2, log epsilon and log weight decay in place of momentum. Schedules are (segments, blocks) tables.",
                "required": ["learning_rate", "l2", "init_scale"],
                "properties": {
                  "learning_rate": { "type": "array", "items": { "type": "array", "items": { "type": "number" } } },
                  "momentum": { "type": "array", "items": { "type": "array", "items": { "type": "number" } }, "x-optimizer": "sgd" },
                  "beta1": { "type": "array", "items": { "type": "array", "items": { "type": "number" } }, "x-optimizer": "adam" },
                  "beta2": { "type": "array", "items": { "type": "array", "items": { "type": "number" } }, "x-optimizer": "adam" },
                  "epsilon": { "type": "number", "x-optimizer": "adam" },
                  "weight_decay": {
                    "type": "array", "items": { "type": "number" }, "x-optimizer": "adam",
                    "description": "One value, one per weight block, one per weight, or empty when weight decay is off."
                  },
                  "l2": { "type": "array", "items": { "type": "number" } },
                  "init_scale": { "type": "array", "items": { "type": "number" } },
                  "training_data": {
                    "type": "array", "items": { "type": "array", "items": { "type": "number" } },
                    "description": "(train rows, features), when training_data.learn is true."
                  },
                  "transforms": { "$ref": "#/components/schemas/Transforms" }
                }
              },
              "Transforms": {
                "type": "array", "x-kind": "weight_sharing",
                "description": "A weight_sharing job's T_l, one per layer (input side first), each a list of rows: row a is task a's layer, column j the weight of the shared z_l(j) in it, tasks in the order of the item's `sharing.tasks`.",
                "items": { "type": "array", "items": { "type": "array", "items": { "type": "number" } } }
              },
              "HistoryItem": {
                "type": "object",
                "required": ["meta_iteration", "training_loss", "validation_loss", "validation_error", "hyperparameters", "hypergradient", "training_curve", "seconds"],
                "properties": {
                  "meta_iteration": { "type": "integer", "minimum": 0 },
                  "training_loss": { "type": ["number", "null"], "description": "Mean cross-entropy over the training split at the final weights, no penalty (the mean over meta.seeds runs); null only in a rejected item whose training diverged." },
                  "validation_loss": { "type": ["number", "null"], "description": "Mean cross-entropy over the validation split at the final weights." },
                  "validation_error": { "type": ["number", "null"], "minimum": 0, "maximum": 1, "description": "Fraction of the validation split misclassified." },
                  "test_loss": { "type": ["number", "null"], "description": "Mean cross-entropy over the held-out test split; null without one." },
                  "test_error": { "type": ["number", "null"], "minimum": 0, "maximum": 1, "description": "Fraction of the test split misclassified." },
                  "training_loss_std": { "type": "number", "minimum": 0, "description": "Sample standard deviation over the meta.seeds runs (only with more than one)." },
                  "validation_loss_std": { "type": "number", "minimum": 0 },
                  "test_loss_std": { "type": ["number", "null"], "minimum": 0 },
                  "step": {
                    "type": "string", "enum": ["accepted", "rejected"],
                    "description": "The guard's verdict (only while it is on): a rejected item's hyperparameters are abandoned for the last accepted ones."
                  },
                  "step_reason": { "type": ["string", "null"], "description": "Why the step was rejected." },
                  "hyperparameters": { "$ref": "#/components/schemas/Hyperparameters" },
                  "hypergradient": {
                    "description": "The exact hypergradient that produced the next hyperparameters; null for the last item.",
                    "oneOf": [
                      { "$ref": "#/components/schemas/Hyperparameters" },
                      {
                        "type": "object", "required": ["transforms"], "additionalProperties": false,
                        "description": "A weight_sharing job's: the gradient with respect to the T_l themselves.",
                        "properties": { "transforms": { "$ref": "#/components/schemas/Transforms" } }
                      },
                      { "type": "null" }
                    ]
                  },
                  "training_curve": {
                    "description": "The elementary learning curve: mean minibatch training loss (with the penalty) over windows of `every` consecutive training iterations (at most 1000 points).",
                    "type": "object",
                    "required": ["every", "losses"],
                    "properties": {
                      "every": { "type": "integer", "minimum": 1 },
                      "losses": { "type": "array", "items": { "type": ["number", "null"] } }
                    }
                  },
                  "first_conv_filters": {
                    "description": "Only on the final item of a network with a conv2d layer: the first conv2d layer's trained weights (the first seed's run), at most 4096 values, whole filters from the first.",
                    "type": "object",
                    "required": ["filters", "kernel", "channels", "values"],
                    "properties": {
                      "filters": { "type": "integer", "minimum": 1 },
                      "kernel": { "type": "integer", "minimum": 1 },
                      "channels": { "type": "integer", "minimum": 1 },
                      "values": { "type": "array", "items": { "type": "number" }, "description": "(filters, kernel, kernel, channels) in that order." }
                    }
                  },
                  "sharing": {
                    "x-kind": "weight_sharing",
                    "description": "A weight_sharing job's per-task numbers, in the order of `tasks`; its losses and errors above are their means over the tasks.",
                    "type": "object",
                    "required": ["tasks", "objective", "validation_losses", "validation_errors", "test_errors", "initial_test_errors"],
                    "properties": {
                      "tasks": { "type": "array", "items": { "type": "string" } },
                      "objective": { "type": "number", "description": "The sum over tasks of the mean validation cross-entropy: what the meta-step descends." },
                      "validation_losses": { "type": "array", "items": { "type": "number" } },
                      "validation_errors": { "type": "array", "items": { "type": "number", "minimum": 0, "maximum": 1 } },
                      "test_errors": { "type": ["array", "null"], "items": { "type": "number", "minimum": 0, "maximum": 1 }, "description": "Final item only: each task's test error with the learned T_l (trained on all 12 drawings per character)." },
                      "initial_test_errors": { "type": ["array", "null"], "items": { "type": "number", "minimum": 0, "maximum": 1 }, "description": "Final item only: the same with the initial T_l." }
                    }
                  },
                  "seconds": { "type": "number", "minimum": 0 },
                  "numeric_fingerprint": { "type": "string", "description": "What decided this item's bits besides the spec: the build's arithmetic, the CPU architecture and the BLAS kernel family of the node that computed it. Equal fingerprints give identical histories." }
                }
              },
              "HistoryPage": {
                "type": "object",
                "required": ["items", "next_after"],
                "properties": {
                  "items": { "type": "array", "items": { "$ref": "#/components/schemas/HistoryItem" } },
                  "next_after": { "type": ["integer", "null"], "description": "Pass as `after` for the next page; null when there is none yet." }
                }
              },
              "Result": {
                "type": "object",
                "required": ["best", "final", "partial"],
                "properties": {
                  "best": { "$ref": "#/components/schemas/HistoryItem" },
                  "final": { "$ref": "#/components/schemas/HistoryItem" },
                  "partial": { "type": "boolean", "description": "True for a failed or cancelled job's best so far." }
                }
              },
              "Dataset": {
                "type": "object",
                "required": ["id", "name", "rows", "features", "classes", "shape", "sha256", "created_at"],
                "properties": {
                  "id": { "type": "string" },
                  "name": { "type": "string" },
                  "rows": { "type": "integer", "minimum": 1 },
                  "features": { "type": "integer", "minimum": 1 },
                  "classes": { "type": "integer", "minimum": 1 },
                  "shape": { "type": "array", "items": { "type": "integer", "minimum": 1 }, "minItems": 1, "maxItems": 3, "description": "Each row's shape: [features] for a table, [height, width, channels] for images (model.layers conv and pool layers need an image shape)." },
                  "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$" },
                  "created_at": { "type": ["string", "null"], "format": "date-time", "description": "Null for built-ins." },
                  "builtin": { "type": "boolean" },
                  "class_counts": { "type": "array", "items": { "type": "integer", "minimum": 1 }, "description": "Rows per class 0..K-1; in the upload's answer and GET /v1/datasets/{id}." },
                  "detected": {
                    "type": "object",
                    "description": "What the upload held: has_header and header (column names), labels and class_counts, labels_sorted (rows grouped by class), feature_ranges ([min, max] per feature) and range_ratio (widest range over the narrowest).",
                    "properties": {
                      "has_header": { "type": "boolean" },
                      "header": { "type": ["array", "null"], "items": { "type": "string" } },
                      "labels": { "type": "array", "items": { "type": "integer", "minimum": 0 } },
                      "class_counts": { "type": "array", "items": { "type": "integer", "minimum": 0 } },
                      "labels_sorted": { "type": "boolean" },
                      "feature_ranges": { "type": "array", "items": { "type": "array", "items": { "type": "number" }, "minItems": 2, "maxItems": 2 } },
                      "range_ratio": { "type": "number", "minimum": 1 }
                    }
                  }
                }
              },
              "ProgressEvent": {
                "type": "object",
                "description": "`data` of a `progress` event.",
                "required": ["done", "total", "fraction"],
                "properties": {
                  "done": { "type": "integer", "minimum": 0 },
                  "total": { "type": "integer", "minimum": 1 },
                  "fraction": { "type": "number", "minimum": 0, "maximum": 1 }
                }
              },
              "MetaIterationEvent": {
                "type": "object",
                "description": "`data` of a `meta_iteration` event: the item's numbers (the full item is in the history).",
                "required": ["meta_iteration", "training_loss", "validation_loss", "validation_error", "seconds", "hypergradient_norm"],
                "properties": {
                  "meta_iteration": { "type": "integer", "minimum": 0 },
                  "training_loss": { "type": ["number", "null"] },
                  "validation_loss": { "type": ["number", "null"] },
                  "validation_error": { "type": ["number", "null"] },
                  "seconds": { "type": "number" },
                  "hypergradient_norm": { "type": ["number", "null"] }
                }
              },
              "StatusEvent": {
                "type": "object",
                "description": "`data` of a `status` event; `error` when the job failed.",
                "required": ["status"],
                "properties": {
                  "status": { "$ref": "#/components/schemas/JobStatus" },
                  "error": { "type": "object", "properties": { "code": { "type": "string" }, "message": { "type": "string" } } }
                }
              },
              "DatasetList": {
                "type": "object",
                "required": ["datasets"],
                "properties": {
                  "datasets": { "type": "array", "items": { "$ref": "#/components/schemas/Dataset" } }
                }
              },
              "Health": {
                "type": "object",
                "properties": { "status": { "type": "string", "examples": ["ok"] } }
              }
            }
          }
        }
        """#
}
