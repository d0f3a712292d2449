import pytest

from vr_brian_app.cli import main


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("demo", "train", "study", "genn", "fit"))


def test_unknown_command(capsys):
    assert main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err


def test_defaults_belong_to_the_checkout_and_an_installation_asks_for_a_folder(tmp_path):
    from vr_brian_app.checkout import ROOT, checkout_folder, checkout_root

    assert checkout_root() == ROOT and (ROOT / "pyproject.toml").is_file()
    assert checkout_folder("figures", "--out-dir") == ROOT / "figures"
    installed = tmp_path / "lib" / "python3.11" / "site-packages"
    installed.mkdir(parents=True)
    (installed / "pyproject.toml").write_text("")  # even with a stray pyproject.toml
    assert checkout_root(installed) is None
    with pytest.raises(ValueError, match="installed in .*give --out-dir DIR"):
        checkout_folder("figures", "--out-dir", root=installed)
