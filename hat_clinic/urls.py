from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from dosing import api as dosing_api
from dosing import (
    fhir,
    guest_api,
    guest_views,
    leaving_api,
    leaving_views,
    pharmacy_api,
    pharmacy_views,
    register_api,
    register_views,
    room_api,
    room_views,
    take_home_api,
    take_home_views,
)
from dosing import views as dosing_views
from eligibility import api as eligibility_api
from eligibility import (
    clinic_views,
    pathway_api,
    pathway_views,
    policy_api,
    record_views,
    second_factor_views,
    staff_views,
    token_views,
)
from eligibility import views as eligibility_views
from monitoring import api as monitoring_api
from monitoring import dashboard_views
from monitoring import views as monitoring_views

from . import views

router = DefaultRouter()
router.register("clinics", eligibility_api.ClinicViewSet, basename="clinic")
router.register("service-users", eligibility_api.ServiceUserViewSet, basename="service-user")
router.register("prescriptions", dosing_api.PrescriptionViewSet, basename="prescription")
router.register("reviews", dosing_api.ReviewViewSet, basename="review")
router.register(
    "take-home/prescriptions",
    take_home_api.TakeHomePrescriptionViewSet,
    basename="take-home-prescription",
)
router.register(
    "take-home/supplies", take_home_api.TakeHomeSupplyViewSet, basename="take-home-supply"
)
router.register(
    "take-home/returns", take_home_api.TakeHomeReturnViewSet, basename="take-home-return"
)
router.register("dose-sessions", room_api.DoseSessionViewSet, basename="dose-session")
router.register("guest-stays", guest_api.GuestStayViewSet, basename="guest-stay")
router.register("referrals", pathway_api.ReferralViewSet, basename="referral")
router.register(
    "eligibility-assessments",
    pathway_api.EligibilityAssessmentViewSet,
    basename="eligibility-assessment",
)
router.register("suspensions", leaving_api.SuspensionViewSet, basename="suspension")
router.register("exits", leaving_api.ExitViewSet, basename="exit")
# Before cd-register, whose {id} would otherwise take "sections".
router.register(
    "cd-register/sections", register_api.RegisterSectionViewSet, basename="cd-register-section"
)
router.register("cd-register", register_api.RegisterEntryViewSet, basename="cd-register")
router.register("alerts", monitoring_api.AlertViewSet, basename="alert")
router.register("access-log", eligibility_api.AccessLogViewSet, basename="access-log")
router.register("staff", eligibility_api.StaffViewSet, basename="staff")
router.register("policies", policy_api.PolicyViewSet, basename="policy")
router.register("pharmacies", pharmacy_api.PharmacyViewSet, basename="pharmacy")
router.register("tox-screens", monitoring_api.ToxScreenViewSet, basename="tox-screen")
router.register("breath-tests", monitoring_api.BreathTestViewSet, basename="breath-test")
router.register(
    "methadone-collections",
    monitoring_api.MethadoneCollectionViewSet,
    basename="methadone-collection",
)
router.register(
    "methadone-prescriptions",
    dosing_api.MethadonePrescriptionViewSet,
    basename="methadone-prescription",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("clinic/switch/", views.clinic_switch, name="clinic-switch"),
    path("clinics/", clinic_views.clinics, name="clinics"),
    path("clinic/policy/", eligibility_views.clinic_policy, name="clinic-policy"),
    path("clinic/policy/new/", eligibility_views.policy_new, name="policy-new"),
    path(
        "clinic/eligibility-checklist/",
        eligibility_views.eligibility_checklist,
        name="eligibility-checklist",
    ),
    path(
        "clinic/take-home-criteria/",
        eligibility_views.take_home_criteria,
        name="take-home-criteria",
    ),
    path("service-users/", eligibility_views.service_user_list, name="service-user-list"),
    path(
        "service-users/<int:pk>/",
        eligibility_views.service_user_detail,
        name="service-user-detail",
    ),
    path(
        "service-users/<int:pk>/photo/",
        eligibility_views.service_user_photo,
        name="service-user-photo",
    ),
    path(
        "service-users/<int:pk>/history/",
        eligibility_views.service_user_history,
        name="service-user-history",
    ),
    path(
        "service-users/<int:pk>/take-home/",
        take_home_views.take_home,
        name="take-home",
    ),
    path(
        "service-users/<int:pk>/take-home/prescribe/",
        take_home_views.take_home_prescription_new,
        name="take-home-prescription-new",
    ),
    path(
        "service-users/<int:pk>/take-home/supply/",
        take_home_views.take_home_supply_new,
        name="take-home-supply-new",
    ),
    path(
        "take-home/supplies/<int:supply_id>/labels/",
        take_home_views.take_home_labels,
        name="take-home-labels",
    ),
    path(
        "take-home/supplies/<int:supply_id>/loss/",
        take_home_views.take_home_loss_new,
        name="take-home-loss-new",
    ),
    path(
        "take-home/supplies/<int:supply_id>/return/",
        take_home_views.take_home_return_new,
        name="take-home-return-new",
    ),
    path(
        "service-users/<int:pk>/prescriptions/",
        dosing_views.prescription_list,
        name="prescription-list",
    ),
    path(
        "service-users/<int:pk>/prescriptions/new/",
        dosing_views.prescription_new,
        name="prescription-new",
    ),
    path(
        "service-users/<int:pk>/methadone/new/",
        dosing_views.methadone_new,
        name="methadone-new",
    ),
    path(
        "service-users/<int:pk>/titration-complete/",
        dosing_views.titration_complete,
        name="titration-complete",
    ),
    path("reviews/", dosing_views.review_queue_page, name="review-queue"),
    path("referrals/", pathway_views.referral_list, name="referral-list"),
    path("referrals/new/", pathway_views.referral_new, name="referral-new"),
    path("referrals/<int:pk>/", pathway_views.referral_detail, name="referral-detail"),
    path("referrals/<int:pk>/assess/", pathway_views.referral_assess, name="referral-assess"),
    path("referrals/<int:pk>/decide/", pathway_views.referral_decide_view, name="referral-decide"),
    path("referrals/<int:pk>/admit/", pathway_views.referral_admit, name="referral-admit"),
    path("service-users/<int:pk>/re-refer/", pathway_views.re_refer, name="re-refer"),
    path("service-users/<int:pk>/suspend/", leaving_views.suspend, name="suspend"),
    path(
        "service-users/<int:pk>/record/",
        record_views.service_user_record,
        name="service-user-record",
    ),
    path(
        "service-users/<int:pk>/sessions/new/",
        dosing_views.session_unscheduled_new,
        name="session-new",
    ),
    path("suspensions/<int:pk>/return/", leaving_views.suspension_return, name="suspension-return"),
    path("service-users/<int:pk>/exit/", leaving_views.exit_page, name="exit"),
    path(
        "service-users/<int:pk>/timeline/",
        views.service_user_timeline,
        name="service-user-timeline",
    ),
    path("register/", register_views.register_index, name="register-index"),
    path("register/<int:pk>/", register_views.register_page, name="register-page"),
    path("register/<int:pk>/csv/", register_views.register_csv, name="register-csv"),
    path("register/<int:pk>/<str:kind>/", register_views.register_action, name="register-action"),
    path("dashboards/attendance/", dashboard_views.attendance_page, name="dashboard-attendance"),
    path(
        "api/v1/take-home/eligibility/",
        take_home_api.take_home_eligibility_api,
        name="api-take-home-eligibility",
    ),
    path("api/v1/dashboard/attendance/", dashboard_views.attendance_api, name="api-attendance"),
    path("dashboards/outcomes/", dashboard_views.outcomes_page, name="dashboard-outcomes"),
    path("api/v1/dashboard/outcomes/", dashboard_views.outcomes_api, name="api-outcomes"),
    path("dashboards/retention/", dashboard_views.retention_page, name="dashboard-retention"),
    path("api/v1/dashboard/retention/", dashboard_views.retention_api, name="api-retention"),
    path("dashboards/workload/", dashboard_views.workload_page, name="dashboard-workload"),
    path("api/v1/dashboard/workload/", dashboard_views.workload_api, name="api-workload"),
    path(
        "api/v1/fhir/MedicationAdministration",
        fhir.fhir_medication_administration,
        name="fhir-medication-administration",
    ),
    path("alerts/", monitoring_views.inbox, name="alert-inbox"),
    path("clinic/alert-addresses/", monitoring_views.alert_addresses, name="alert-addresses"),
    path("clinic/tokens/", token_views.integration_tokens, name="integration-tokens"),
    path(
        "clinic/tokens/<int:pk>/revoke/",
        token_views.integration_token_revoke,
        name="integration-token-revoke",
    ),
    path(
        "service-users/<int:pk>/tox-screens/new/",
        monitoring_views.tox_screen_new,
        name="tox-screen-new",
    ),
    path(
        "service-users/<int:pk>/breath-tests/new/",
        monitoring_views.breath_test_new,
        name="breath-test-new",
    ),
    path(
        "service-users/<int:pk>/methadone-collections/new/",
        monitoring_views.methadone_collection_new,
        name="methadone-collection-new",
    ),
    path("alerts/<int:pk>/acknowledge/", monitoring_views.acknowledge, name="alert-acknowledge"),
    path("dosing/", room_views.board, name="board"),
    path("guest-stays/", guest_views.guest_stays, name="guest-stays"),
    path(
        "guest-stays/<int:stay_id>/accept/",
        guest_views.guest_stay_accept_page,
        name="guest-stay-accept-page",
    ),
    path(
        "guest-stays/<int:stay_id>/end/",
        guest_views.guest_stay_end_page,
        name="guest-stay-end-page",
    ),
    path("service-users/<int:pk>/guest-stays/", guest_views.guest_stays_of, name="guest-stays-of"),
    path("dosing/sessions/<int:pk>/", room_views.session_page, name="dose-session"),
    path("dosing/sessions/<int:pk>/photo/", room_views.session_photo, name="dose-session-photo"),
    path("clinic/closure/", dosing_views.service_closure, name="service-closure"),
    path("clinic/pharmacies/", pharmacy_views.pharmacies, name="pharmacies"),
    path("clinic/pharmacies/<int:pk>/", pharmacy_views.pharmacy_detail, name="pharmacy-detail"),
    path(
        "service-users/<int:pk>/exit-plan/new/",
        dosing_views.exit_plan_new,
        name="exit-plan-new",
    ),
    path(
        "exit-plans/<int:plan_id>/activate/",
        dosing_views.exit_plan_activate,
        name="exit-plan-activate",
    ),
    path(
        "exit-plans/<int:plan_id>/cancel/", dosing_views.exit_plan_cancel, name="exit-plan-cancel"
    ),
    path(
        "prescriptions/<int:prescription_id>/cancel/",
        dosing_views.prescription_cancel_view,
        name="prescription-cancel",
    ),
    path("service-users/<int:pk>/review/", dosing_views.review_new, name="review-new"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChange.as_view(), name="password-change"),
    path("two-factor/", second_factor_views.two_factor, name="two-factor"),
    path("two-factor/setup/", second_factor_views.two_factor_setup, name="two-factor-setup"),
    path("account/two-factor/", second_factor_views.two_factor_account, name="two-factor-account"),
    path(
        "account/two-factor/recovery-codes/",
        second_factor_views.recovery_codes_renew,
        name="two-factor-recovery-renew",
    ),
    path("staff/", staff_views.staff_list, name="staff-list"),
    path("staff/<int:pk>/", staff_views.staff_detail, name="staff-detail"),
    path(
        "staff/<int:pk>/reset-password/",
        staff_views.staff_password_reset,
        name="staff-password-reset",
    ),
    path("welcome/<str:key>/", staff_views.staff_link, name="staff-link"),
    path(
        "staff/<int:pk>/reset-second-factor/",
        second_factor_views.staff_second_factor_reset,
        name="staff-second-factor-reset",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include((router.urls, "api"))),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from its own URL (?script=),
    # not inline, and api_docs.html has its style in a file: the content security
    # policy runs neither inline.
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
]
