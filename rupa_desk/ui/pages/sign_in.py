"""The sign-in page: "Sign in with Rupa", the wait for the browser, and what went wrong.

The page is a view of the session presenter's `SignInView`: it shows what the view says and
hands button presses to the presenter. States:

- signed out: "Sign in with Rupa" (opens the system browser).
- restoring: the saved session is being checked at start-up.
- waiting: finish in the browser; Cancel; the sign-in link with "Copy the link" (emphasised
  when no browser could be opened).
- failed: what happened (denied, timed out, offline, …) and "Try again".
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from rupa_desk.ui.presenters.session import SessionPresenter, SessionState, SignInView


class SignInPage(QWidget):
    """The page shown while nobody is signed in.

    Args:
        presenter: the session presenter (sign-in, cancel, state).
    """

    def __init__(self, presenter: SessionPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setAccessibleName("Sign in")

        self.heading = QLabel("<h1>Rupa Desk</h1>")
        self.heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.environment = QLabel()
        self.environment.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.environment.setAccessibleName("Environment")
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setAccessibleName("Sign-in hint")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status.setAccessibleName("Sign-in status")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.problem.setAccessibleName("Sign-in problem")
        self.problem.setStyleSheet("color: #a11;")

        self.sign_in_button = QPushButton("Sign in with Rupa")
        self.sign_in_button.setProperty("primary", True)  # the main action here
        self.sign_in_button.setAccessibleName("Sign in with Rupa")
        self.sign_in_button.setDefault(True)
        self.sign_in_button.setMinimumHeight(36)
        self.try_again_button = QPushButton("Try again")
        self.try_again_button.setAccessibleName("Try again")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel sign-in")

        self.link_box = QFrame()
        self.link_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.link_intro = QLabel()
        self.link_intro.setWordWrap(True)
        # One read-only line (scrolls, selects, copies): a URL has no spaces to wrap at.
        self.link = QLineEdit()
        self.link.setReadOnly(True)
        self.link.setAccessibleName("Sign-in link")
        self.copy_link_button = QPushButton("Copy the link")
        self.copy_link_button.setAccessibleName("Copy the link")
        link_layout = QVBoxLayout(self.link_box)
        link_layout.addWidget(self.link_intro)
        link_layout.addWidget(self.link)
        link_layout.addWidget(self.copy_link_button, 0, Qt.AlignmentFlag.AlignLeft)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.sign_in_button, self.try_again_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        column = QVBoxLayout()
        column.addWidget(self.heading)
        column.addWidget(self.environment)
        column.addWidget(self.hint)
        column.addSpacing(12)
        column.addWidget(self.status)
        column.addWidget(self.problem)
        column.addLayout(buttons)
        column.addWidget(self.link_box)
        box = QWidget()
        box.setMinimumWidth(360)
        box.setMaximumWidth(560)
        box.setLayout(column)
        # Centred by stretches, not by an alignment flag: a widget placed with an alignment
        # gets its plain size hint, which ignores the height its word-wrapped labels need at
        # the width they get, so the text and buttons were cut off.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box, 100)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

        self.sign_in_button.clicked.connect(self._on_sign_in_button_clicked)
        self.try_again_button.clicked.connect(self._on_try_again_button_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.copy_link_button.clicked.connect(self._on_copy_link_button_clicked)
        presenter.view_changed.connect(self._on_presenter_view_changed)
        self._on_presenter_view_changed(presenter.view)

    @asyncSlot()
    async def _on_sign_in_button_clicked(self) -> None:
        await self._presenter.sign_in()

    @asyncSlot()
    async def _on_try_again_button_clicked(self) -> None:
        await self._presenter.sign_in()

    def _on_cancel_button_clicked(self) -> None:
        self._presenter.cancel_sign_in()

    def _on_copy_link_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self._presenter.view.authorize_url)
        self.copy_link_button.setText("Link copied")

    def _on_presenter_view_changed(self, view: SignInView) -> None:
        state = view.state
        self.environment.setText(view.environment_label)
        self.hint.setText(view.hint)
        self.hint.setVisible(bool(view.hint))
        self.status.setText(view.status)
        self.problem.setText(view.problem)
        self.problem.setVisible(bool(view.problem))
        self.sign_in_button.setVisible(state is SessionState.SIGNED_OUT)
        self.try_again_button.setVisible(state is SessionState.FAILED)
        self.cancel_button.setVisible(state is SessionState.WAITING)
        waiting_with_link = state is SessionState.WAITING and bool(view.authorize_url)
        self.link_box.setVisible(waiting_with_link)
        if waiting_with_link:
            self.link.setText(view.authorize_url)
            self.link.setCursorPosition(0)
            self.copy_link_button.setText("Copy the link")
            self.link_intro.setText(
                "If the sign-in page did not open, copy this link into your browser:"
                if view.browser_opened
                else "No browser could be opened on this computer. Copy this link and open it "
                "in a browser to sign in:"
            )
            self.copy_link_button.setDefault(not view.browser_opened)
        if state is SessionState.FAILED:
            self.try_again_button.setDefault(True)
