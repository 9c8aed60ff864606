"""The modal dialogs, one module each: help, editing a value, opening a scenario, the quiz.

base.Dialog is what they share; the app imports each when it is first opened (start-up time).
"""
