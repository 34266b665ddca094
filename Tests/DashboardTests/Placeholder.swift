import Testing
@testable import Dashboard

@Test func dashboardModuleBuilds() {}
