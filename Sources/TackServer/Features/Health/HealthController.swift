import Foundation
import HTTPTypes
import OpenAPIRuntime
import TackAPI

/// The daily health report over HTTP.
extension APIHandler {
    func listHealthReports(_ input: Operations.ListHealthReports.Input) async throws -> Operations.ListHealthReports.Output {
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        let (reports, viewer) = try await health.list(try identity(), orgID)
        return .ok(.init(body: .json(.init(items: reports.map { $0.api(viewer) }))))
    }

    func createHealthReport(_ input: Operations.CreateHealthReport.Input) async throws -> Operations.CreateHealthReport.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        let (report, viewer) = try await health.create(try identity(), orgID, try Self.healthDraft(body), idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(report.api(viewer))))
    }

    func getHealthReport(_ input: Operations.GetHealthReport.Input) async throws -> Operations.GetHealthReport.Output {
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        let (report, viewer) = try await health.view(try identity(), orgID, try parseID(input.path.reportId, "reportId"))
        return .ok(.init(body: .json(report.api(viewer))))
    }

    func updateHealthReport(_ input: Operations.UpdateHealthReport.Input) async throws -> Operations.UpdateHealthReport.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        let (report, viewer) = try await health.update(try identity(), orgID, try parseID(input.path.reportId, "reportId"), try Self.healthDraft(body))
        return .ok(.init(body: .json(report.api(viewer))))
    }

    func getHealthToday(_ input: Operations.GetHealthToday.Input) async throws -> Operations.GetHealthToday.Output {
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        let (now, items, viewer) = try await health.today(try identity(), orgID)
        return .ok(.init(body: .json(.init(now: now, items: items.map { item in
            .init(report: item.report.api(viewer), member: item.person.api,
                  relation: item.ward ? .ward : ._self, day: item.day.description, reportDay: item.window != nil,
                  opensAt: item.window?.lowerBound, closesAt: item.window.map { $0.upperBound.addingTimeInterval(0.001) }, open: item.open,
                  submission: item.submission?.api(questions: item.report.questions), card: item.card.api)
        }))))
    }

    func submitHealthReport(_ input: Operations.SubmitHealthReport.Input) async throws -> Operations.SubmitHealthReport.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let reportID: HealthReport.ID = try parseID(input.path.reportId, "reportId")
        let (submission, card, questions) = try await health.submit(
            try identity(), try parseID(input.path.orgId, "orgId"), reportID, day: body.day,
            memberID: try body.memberId.map { try parseID($0, "memberId") }, answers: body.answers.map(StoredAnswer.init))
        return .ok(.init(body: .json(.init(submission: submission.api(questions: questions), card: card.api))))
    }

    func getHealthHistory(_ input: Operations.GetHealthHistory.Input) async throws -> Operations.GetHealthHistory.Output {
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        let reportID: HealthReport.ID = try parseID(input.path.reportId, "reportId")
        let identity = try identity()
        let history = try await health.history(identity, orgID, reportID, memberID: try input.query.memberId.map { try parseID($0, "memberId") },
                                               days: input.query.days ?? 30)
        return .ok(.init(body: .json(.init(reportId: reportID.string, member: history.person.api, card: history.card?.api,
                                           days: history.days.map { .init(day: $0.0.description, submission: $0.1?.api(questions: history.questions)) }))))
    }

    func getHealthCard(_ input: Operations.GetHealthCard.Input) async throws -> Operations.GetHealthCard.Output {
        let card = try await health.card(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.reportId, "reportId"),
                                         memberID: try input.query.memberId.map { try parseID($0, "memberId") })
        return .ok(.init(body: .json(card.api)))
    }

    func verifyHealthCard(_ input: Operations.VerifyHealthCard.Input) async throws -> Operations.VerifyHealthCard.Output {
        let result = try await health.verify(try identity(), try parseID(input.path.orgId, "orgId"), code: input.query.code)
        return .ok(.init(body: .json(.init(valid: result.valid, name: result.name, colour: result.colour.map { .init(rawValue: $0.rawValue)! },
                                           day: result.day.description, reportTitle: result.title))))
    }

    func getHealthDashboard(_ input: Operations.GetHealthDashboard.Input) async throws -> Operations.GetHealthDashboard.Output {
        let d = try await health.dashboard(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.reportId, "reportId"),
                                           day: input.query.day, days: input.query.days ?? 14)
        return .ok(.init(body: .json(.init(
            reportId: d.reportID.string, day: d.day.description, reportDay: d.reportDay, totals: d.totals.api,
            departments: d.departments.map {
                .init(departmentId: $0.department.id.string, parentId: $0.department.parentID?.string, name: $0.department.name, audience: $0.audience,
                      reported: $0.reported, notReported: max(0, $0.audience - $0.reported), abnormal: $0.abnormal)
            },
            trend: d.trend.map(\.api)))))
    }

    func listHealthMembers(_ input: Operations.ListHealthMembers.Input) async throws -> Operations.ListHealthMembers.Output {
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        let reportID: HealthReport.ID = try parseID(input.path.reportId, "reportId")
        let identity = try identity()
        let query = HealthService.MemberQuery(
            day: input.query.day, status: HealthStatusFilter(rawValue: input.query.status?.rawValue ?? "all") ?? .all,
            departmentID: try input.query.departmentId.map { try parseID($0, "departmentId") }, answers: input.query.answers ?? false,
            cursor: input.query.cursor, limit: input.query.limit ?? 100)
        let (day, rows, next) = try await health.members(identity, orgID, reportID, query)
        let questions = query.answers ? try await health.view(identity, orgID, reportID).0.questions : []
        return .ok(.init(body: .json(.init(day: day.description, items: rows.map { row in
            .init(member: row.person.api, departments: row.departments, status: row.submission == nil ? .notReported : .reported,
                  colour: row.submission.map { .init(rawValue: $0.colour.rawValue)! }, temperature: row.submission?.temperature,
                  submittedAt: row.submission?.submittedAt,
                  answers: row.submission?.answers.map { StoredAnswer.list($0, order: questions).map(\.api) })
        }, nextCursor: next))))
    }

    func exportHealthMembers(_ input: Operations.ExportHealthMembers.Input) async throws -> Operations.ExportHealthMembers.Output {
        let orgID: Organization.ID = try parseID(input.path.orgId, "orgId")
        let query = HealthService.MemberQuery(
            day: input.query.day, status: HealthStatusFilter(rawValue: input.query.status?.rawValue ?? "all") ?? .all,
            departmentID: try input.query.departmentId.map { try parseID($0, "departmentId") }, answers: true, cursor: nil, limit: nil)
        let table = try await health.exportTable(try identity(), orgID, try parseID(input.path.reportId, "reportId"), query)
        let xlsx = input.query.format == .xlsx
        let file = Self.download(table, xlsx: xlsx)
        return .ok(.init(body: xlsx ? .applicationVnd_openxmlformatsOfficedocument_spreadsheetml_sheet(file) : .csv(file)))
    }

    func dingHealthNotReported(_ input: Operations.DingHealthNotReported.Input) async throws -> Operations.DingHealthNotReported.Output {
        let view = try await health.dingNotReported(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.reportId, "reportId"),
                                                    idempotencyKey: input.headers.idempotencyKey)
        return .created(.init(body: .json(view.api)))
    }

    func uploadHealthPhoto(_ input: Operations.UploadHealthPhoto.Input) async throws -> Operations.UploadHealthPhoto.Output {
        guard case .binary(let body) = input.body else {
            throw AppError(.unsupportedMediaType, "unsupported_media_type", "Send the photo as application/octet-stream.")
        }
        let identity = try identity()
        let bytes = try await [UInt8](collecting: body, upTo: .max)
        let photo = try await health.upload(identity, try parseID(input.path.orgId, "orgId"), bytes: bytes)
        return .created(.init(body: .json(photo.api)))
    }

    func downloadHealthPhoto(_ input: Operations.DownloadHealthPhoto.Input) async throws -> Operations.DownloadHealthPhoto.Output {
        let (photo, data) = try await health.download(try identity(), try parseID(input.path.orgId, "orgId"), try parseID(input.path.photoId, "photoId"))
        Self.setDownloadHeaders(name: "photo", inline: true)
        RequestScope.current.responseHeaders.set(.cacheControl, "private, no-store")
        let body = HTTPBody(data)
        let content: Operations.DownloadHealthPhoto.Output.Ok.Body = switch photo.contentType {
        case "image/png": .png(body)
        case "image/webp": .imageWebp(body)
        default: .jpeg(body)
        }
        return .ok(.init(body: content))
    }

    func listHealthAccessLog(_ input: Operations.ListHealthAccessLog.Input) async throws -> Operations.ListHealthAccessLog.Output {
        let entries = try await health.accessLog(try identity(), try parseID(input.path.orgId, "orgId"),
                                                 before: try input.query.before.map { try parseID($0, "before") }, limit: input.query.limit ?? 50)
        return .ok(.init(body: .json(.init(items: entries.map(\.api)))))
    }

    func listGuardians(_ input: Operations.ListGuardians.Input) async throws -> Operations.ListGuardians.Output {
        let student: Member.ID = try parseID(input.path.memberId, "memberId")
        let guardians = try await health.guardians(try identity(), try parseID(input.path.orgId, "orgId"), student: student)
        return .ok(.init(body: .json(.init(memberId: student.string, items: guardians.map(\.api)))))
    }

    func setGuardians(_ input: Operations.SetGuardians.Input) async throws -> Operations.SetGuardians.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("invalid_body", "Send JSON.") }
        let student: Member.ID = try parseID(input.path.memberId, "memberId")
        let guardians = try await health.setGuardians(try identity(), try parseID(input.path.orgId, "orgId"), student: student,
                                                      guardians: try body.memberIds.map { try parseID($0, "memberIds") })
        return .ok(.init(body: .json(.init(memberId: student.string, items: guardians.map(\.api)))))
    }

    static func healthDraft(_ body: Components.Schemas.HealthReportInput) throws -> HealthService.Draft {
        HealthService.Draft(
            title: body.title, wholeOrganization: body.wholeOrganization ?? false,
            departmentIDs: try (body.departmentIds ?? []).map { try parseID($0, "departmentIds") },
            questions: body.questions.map(HealthQuestion.init), opensAt: body.opensAt, closesAt: body.closesAt,
            skipWeekends: body.skipWeekends ?? true, holidays: body.holidays ?? [], allowGuardians: body.allowGuardians ?? false,
            aggregatesVisible: body.aggregatesVisible ?? false,
            rules: body.rules.map { CardRules(yellowTemperature: $0.yellowTemperature, redTemperature: $0.redTemperature,
                                              greenAfterYellowDays: $0.greenAfterYellowDays, greenAfterRedDays: $0.greenAfterRedDays) } ?? .standard,
            reminders: (body.reminders ?? []).map { .init(at: $0.at, channel: HealthReminder.Channel(rawValue: $0.channel.rawValue)!) },
            retentionDays: body.retentionDays ?? 14, active: body.active ?? true)
    }
}
