from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.urls import reverse_lazy

from agents.forms import AgentPasswordResetForm, AgentSetPasswordForm, LoginForm


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


def axes_username(request, credentials=None) -> str:
    """The email django-axes counts failures for, lowercased: « Agent@… » and « agent@… » are one
    account, so changing the case does not get around the lockout."""
    username = (credentials or {}).get("username") or request.POST.get("username") or ""
    return username.strip().lower()


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: the login page itself, with the lockout
    message on the form (see LoginForm.get_invalid_login_error), as 429 Too Many Requests."""
    if original_response is None:
        form = LoginForm(request, data=request.POST or None)
        form.is_valid()
        original_response = render(request, "registration/login.html", {"form": form})
    original_response.status_code = 429
    return original_response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = AgentPasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("agents:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = AgentSetPasswordForm
    success_url = reverse_lazy("agents:password_reset_complete")
