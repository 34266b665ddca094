import Testing
@testable import API

@Test func apiModuleBuilds() {}
