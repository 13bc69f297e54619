"""The account rules, shared by the HTML pages, the API, the admin and the tests."""
