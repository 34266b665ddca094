import Dispatch
import Synchronization
import Testing

@testable import API

@Suite struct MetricsTests {
    @Test func aCounterRendersHelpTypeAndOneLinePerLabelSetSortedByLabelValues() {
        let metrics = Metrics()
        metrics.declare("requests_total", help: "Requests answered.", kind: .counter, labels: ["route", "code"])
        metrics.increment("requests_total", labels: ["route": "/v1/jobs/{id}", "code": "404"])
        metrics.increment("requests_total", by: 2, labels: ["route": "/v1/jobs", "code": "202"])
        metrics.increment("requests_total", labels: ["route": "/v1/jobs/{id}", "code": "404"])
        #expect(
            metrics.render() == """
                # HELP requests_total Requests answered.
                # TYPE requests_total counter
                requests_total{route="/v1/jobs",code="202"} 2
                requests_total{route="/v1/jobs/{id}",code="404"} 2

                """)
    }

    @Test func aHistogramRendersCumulativeBucketsWithInclusiveBoundsThenInfSumAndCount() {
        let metrics = Metrics()
        metrics.declare(
            "latency_seconds", help: "Latency.", kind: .histogram, labels: ["route"], buckets: [0.5, 1, 2.5])
        for value in [0.5, 0.75, 3, 0.25] {
            metrics.observe("latency_seconds", value: value, labels: ["route": "/healthz"])
        }
        #expect(
            metrics.render() == """
                # HELP latency_seconds Latency.
                # TYPE latency_seconds histogram
                latency_seconds_bucket{route="/healthz",le="0.5"} 2
                latency_seconds_bucket{route="/healthz",le="1"} 3
                latency_seconds_bucket{route="/healthz",le="2.5"} 3
                latency_seconds_bucket{route="/healthz",le="+Inf"} 4
                latency_seconds_sum{route="/healthz"} 4.5
                latency_seconds_count{route="/healthz"} 4

                """)
    }

    @Test func anUnlabelledHistogramPutsOnlyLeInItsBuckets() {
        let metrics = Metrics()
        metrics.declare("step_seconds", help: "Steps.", kind: .histogram, buckets: [0.0005, 10])
        metrics.observe("step_seconds", value: 0.0001)
        let text = metrics.render()
        #expect(text.contains("step_seconds_bucket{le=\"0.0005\"} 1\n"))
        #expect(text.contains("step_seconds_bucket{le=\"10\"} 1\n"))
        #expect(text.contains("step_seconds_bucket{le=\"+Inf\"} 1\n"))
        #expect(text.contains("step_seconds_sum 0.0001\n"))
        #expect(text.contains("step_seconds_count 1\n"))
    }

    @Test func familiesAreSortedByNameAndDeclaredFamiliesShowHelpAndTypeBeforeAnySample() {
        let metrics = Metrics()
        metrics.declare("zeta", help: "Last.", kind: .gauge)
        metrics.declare("alpha_total", help: "First.", kind: .counter)
        metrics.set("zeta", to: 2.5)
        metrics.increment("zeta", by: 1)
        #expect(
            metrics.render() == """
                # HELP alpha_total First.
                # TYPE alpha_total counter
                # HELP zeta Last.
                # TYPE zeta gauge
                zeta 3.5

                """)
    }

    @Test func labelValuesEscapeBackslashQuoteAndNewlineAndHelpEscapesBackslashAndNewline() {
        let metrics = Metrics()
        metrics.declare("odd", help: "A \\ help\nline.", kind: .gauge, labels: ["value"])
        metrics.set("odd", to: 1, labels: ["value": "a\\b\"c\nd"])
        metrics.set("odd", to: 2, labels: ["value": "crlf\r\n"])
        #expect(
            metrics.render() == #"""
                # HELP odd A \\ help\nline.
                # TYPE odd gauge
                odd{value="a\\b\"c\nd"} 1
                odd{value="crlf\#r\n"} 2

                """#)
    }

    @Test func valuesPrintIntegersWithoutFractionAndSpecialValuesAsTheFormatSpellsThem() {
        #expect(Metrics.format(3) == "3")
        #expect(Metrics.format(-0.0) == "0")
        #expect(Metrics.format(0.25) == "0.25")
        #expect(Metrics.format(1e-5) == "1e-05")
        #expect(Metrics.format(.infinity) == "+Inf")
        #expect(Metrics.format(-.infinity) == "-Inf")
        #expect(Metrics.format(.nan) == "NaN")
        #expect(Metrics.format(1e20) == "1e+20")
    }

    @Test func concurrentIncrementsAndObservationsAddUpExactly() {
        let metrics = Metrics()
        metrics.declare("hits_total", help: "Hits.", kind: .counter, labels: ["worker"])
        metrics.declare("work_seconds", help: "Work.", kind: .histogram, buckets: [1, 2])
        let threads = 8, perThread = 5_000
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for step in 0..<perThread {
                metrics.increment("hits_total", labels: ["worker": thread.isMultiple(of: 2) ? "even" : "odd"])
                metrics.observe("work_seconds", value: Double(step % 3))
            }
        }
        let text = metrics.render()
        let half = threads / 2 * perThread
        #expect(text.contains("hits_total{worker=\"even\"} \(half)\n"))
        #expect(text.contains("hits_total{worker=\"odd\"} \(half)\n"))
        // step % 3 over 0..<5000: 1667 zeros, 1667 ones, 1666 twos per thread.
        #expect(text.contains("work_seconds_bucket{le=\"1\"} \(threads * 3334)\n"))
        #expect(text.contains("work_seconds_bucket{le=\"2\"} \(threads * perThread)\n"))
        #expect(text.contains("work_seconds_sum \(threads * (1667 + 2 * 1666))\n"))
        #expect(text.contains("work_seconds_count \(threads * perThread)\n"))
    }

    @Test func collectorsAreCalledOnEveryRenderSoValuesAreFresh() {
        let metrics = Metrics()
        let jobs = Mutex<[String: Double]>(["queued": 2, "running": 1])
        let calls = Atomic<Int>(0)
        metrics.registerGaugeCollector(name: "jobs", help: "Jobs by status.", labels: ["status"]) {
            calls.add(1, ordering: .relaxed)
            return jobs.withLock { $0.map { (["status": $0.key], $0.value) } }
        }
        #expect(calls.load(ordering: .relaxed) == 0)
        #expect(
            metrics.render() == """
                # HELP jobs Jobs by status.
                # TYPE jobs gauge
                jobs{status="queued"} 2
                jobs{status="running"} 1

                """)
        jobs.withLock { $0 = ["queued": 0, "running": 2, "failed": 5] }
        let second = metrics.render()
        #expect(second.hasSuffix("jobs{status=\"failed\"} 5\njobs{status=\"queued\"} 0\njobs{status=\"running\"} 2\n"))
        #expect(calls.load(ordering: .relaxed) == 2)
    }

    @Test func aCollectorCanReportACounterFamily() {
        let metrics = Metrics()
        metrics.registerCollector(name: "busy_total", help: "Busy.", kind: .counter) { [([:], 7)] }
        #expect(metrics.render() == "# HELP busy_total Busy.\n# TYPE busy_total counter\nbusy_total 7\n")
    }

    @Test func rewindRegistryDeclaresEveryFamilyAndSetsBuildInfoStartTimeAndMemory() throws {
        let metrics = Metrics(version: "1.2.3", startTime: 1_700_000_000.5)
        let text = metrics.render()
        let names = [
            Metrics.Name.httpRequests, Metrics.Name.httpRequestDuration, Metrics.Name.jobs, Metrics.Name.jobsFinished,
            Metrics.Name.metaIterations, Metrics.Name.metaIterationDuration, Metrics.Name.sqliteBusy,
            Metrics.Name.workersBusy, Metrics.Name.buildInfo, Metrics.Name.processStartTime,
            Metrics.Name.processResidentMemory,
        ]
        for name in names {
            #expect(text.contains("# HELP \(name) "), "no HELP for \(name)")
            #expect(text.contains("# TYPE \(name) "), "no TYPE for \(name)")
        }
        #expect(text.contains("rewind_build_info{version=\"1.2.3\"} 1\n"))
        #expect(text.contains("process_start_time_seconds 1700000000.5\n"))
        let memoryLine = try #require(
            text.split(separator: "\n").first { $0.hasPrefix("process_resident_memory_bytes ") })
        let bytes = try #require(Double(memoryLine.split(separator: " ")[1]))
        #expect(bytes > 1_000_000)  // a Swift test process is megabytes, not bytes: the page size was applied
    }

    @Test func recordedRequestsCountByRouteTemplateAndObserveTheirLatency() {
        let metrics = Metrics(version: "test")
        metrics.recordRequest(route: "/v1/jobs/{id}", method: "GET", status: 200, seconds: 0.003)
        metrics.recordRequest(route: "/v1/jobs/{id}", method: "GET", status: 200, seconds: 0.02)
        metrics.recordMetaIteration(seconds: 1.5)
        metrics.recordJobFinished(status: "succeeded")
        let text = metrics.render()
        #expect(text.contains("rewind_http_requests_total{route=\"/v1/jobs/{id}\",method=\"GET\",code=\"200\"} 2\n"))
        #expect(
            text.contains(
                "rewind_http_request_duration_seconds_bucket{route=\"/v1/jobs/{id}\",method=\"GET\",le=\"0.005\"} 1\n"))
        #expect(
            text.contains(
                "rewind_http_request_duration_seconds_bucket{route=\"/v1/jobs/{id}\",method=\"GET\",le=\"0.025\"} 2\n"))
        #expect(text.contains("rewind_http_request_duration_seconds_count{route=\"/v1/jobs/{id}\",method=\"GET\"} 2\n"))
        #expect(text.contains("rewind_meta_iterations_total 1\n"))
        #expect(text.contains("rewind_meta_iteration_duration_seconds_bucket{le=\"2.5\"} 1\n"))
        #expect(text.contains("rewind_jobs_finished_total{status=\"succeeded\"} 1\n"))
    }

    @Test func everySampleLineHasAValidNameLabelsAndValue() {
        let metrics = Metrics(version: "v\"1\"")
        metrics.recordRequest(route: "/", method: "GET", status: 200, seconds: 0.001)
        metrics.recordMetaIteration(seconds: 0.2)
        for line in metrics.render().split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            #expect(parts.count == 2 || line.contains("{"), "malformed: \(line)")
            let name = line.prefix { $0 != "{" && $0 != " " }
            #expect(Metrics.isValidMetricName(String(name)), "bad name in \(line)")
            let value = line[line.index(after: line.lastIndex(of: " ")!)...]
            #expect(Double(value) != nil || value == "+Inf" || value == "NaN", "bad value in \(line)")
        }
    }

    @Test func recordingIntoAnUndeclaredMetricIsABugThatStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            Metrics().increment("never_declared_total")
        }
    }

    @Test func recordingWithOtherLabelsThanDeclaredIsABugThatStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            let metrics = Metrics()
            metrics.declare("hits_total", help: "Hits.", kind: .counter, labels: ["route"])
            metrics.increment("hits_total", labels: ["path": "/v1/jobs/123"])
        }
    }
}
